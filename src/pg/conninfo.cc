#include "pg/conninfo.h"

#include <libpq-fe.h>

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
