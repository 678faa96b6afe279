#include "pg/conninfo.h"

#include <libpq-fe.h>

#include <algorithm>
#include <memory>
#include <vector>

namespace pgm::pg {
namespace {

struct Option {
  std::string key, value;
};

// Parsed, non-empty options in libpq's order; false if libpq cannot parse the string.
bool parse(const std::string& conninfo, std::vector<Option>& out) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  if (err != nullptr) PQfreemem(err);
  if (opts == nullptr) return false;
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (o->val != nullptr && o->val[0] != '\0') out.push_back({o->keyword, o->val});
  }
  PQconninfoFree(opts);
  return true;
}

std::string join(const std::vector<Option>& opts) {
  std::string s;
  for (const auto& o : opts) {
    if (!s.empty()) s.push_back(' ');
    s += o.key + "=" + quote_conninfo_value(o.value);
  }
  return s;
}

}  // namespace

std::string quote_conninfo_value(const std::string& value) {
  bool bare = !value.empty();
  for (char c : value) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\'' || c == '\\' || c == '=') bare = false;
  }
  if (bare) return value;
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "'";
}

namespace {

// libpq quotes the offending token ("missing \"=\" after \"x\""); a token inside a password or a
// URI (whose userinfo may hold one) is not repeated.
std::string redact_quoted(const std::string& message, const std::string& conninfo) {
  const auto pw = conninfo.find("password");
  const std::string secret_part = conninfo.find("://") != std::string::npos ? conninfo
                                  : pw != std::string::npos                 ? conninfo.substr(pw)
                                                                            : std::string();
  std::string out;
  std::size_t i = 0;
  while (i < message.size()) {
    const auto open = message.find('"', i);
    const auto close = open == std::string::npos ? std::string::npos : message.find('"', open + 1);
    if (close == std::string::npos) break;
    const std::string token = message.substr(open + 1, close - open - 1);
    const bool secret = token.find('@') != std::string::npos || (!token.empty() && secret_part.find(token) != std::string::npos &&
                                                                 token != "=" && conninfo.find(token + "=") == std::string::npos);
    out += message.substr(i, open - i) + "\"" + (secret ? "..." : token) + "\"";
    i = close + 1;
  }
  out += message.substr(std::min(i, message.size()));
  return out;
}

}  // namespace

Status validate_conninfo(const std::string& conninfo) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  if (opts != nullptr) {
    PQconninfoFree(opts);
    if (err != nullptr) PQfreemem(err);
    return Status::Ok();
  }
  std::string reason = err != nullptr ? err : "libpq cannot parse it";
  if (err != nullptr) PQfreemem(err);
  while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) reason.pop_back();
  for (auto& c : reason)
    if (c == '\n') c = ' ';
  return Status(Errc::invalid_argument, "not a valid connection string: " + redact_quoted(reason, conninfo) +
                                            " (expected key=value pairs such as 'host=db1 port=5432 user=postgres', or a "
                                            "postgresql:// URI)");
}

std::string redact_conninfo(const std::string& conninfo) {
  std::vector<Option> opts;
  if (!parse(conninfo, opts)) return "<unparseable conninfo>";
  std::vector<Option> kept;
  for (auto& o : opts) {
    if (o.key != "password") kept.push_back(std::move(o));
  }
  return join(kept);
}

std::string describe_conninfo(const std::string& conninfo) {
  std::vector<Option> opts;
  if (!parse(conninfo, opts)) return "<unparseable conninfo>";
  std::string user, host, hostaddr, port, db;
  for (const auto& o : opts) {
    if (o.key == "user") user = o.value;
    else if (o.key == "host") host = o.value;
    else if (o.key == "hostaddr") hostaddr = o.value;
    else if (o.key == "port") port = o.value;
    else if (o.key == "dbname") db = o.value;
  }
  if (host.empty()) host = hostaddr;
  std::string s;
  if (!user.empty()) s += user + "@";
  s += host.empty() ? "localhost" : host;
  if (!port.empty()) s += ":" + port;
  if (!db.empty()) s += "/" + db;
  return s;
}

std::string conninfo_with(const std::string& conninfo, const std::string& key, const std::string& value) {
  std::vector<Option> opts;
  if (!parse(conninfo, opts)) return conninfo + " " + key + "=" + quote_conninfo_value(value);
  std::vector<Option> out;
  for (auto& o : opts) {
    if (o.key != key) out.push_back(std::move(o));
  }
  out.push_back({key, value});
  return join(out);
}

std::string conninfo_with_default(const std::string& conninfo, const std::string& key, const std::string& value) {
  std::vector<Option> opts;
  if (parse(conninfo, opts))
    for (const auto& o : opts)
      if (o.key == key) return conninfo;
  return conninfo_with(conninfo, key, value);
}

}  // namespace pgm::pg
