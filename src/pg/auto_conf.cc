#include "pg/auto_conf.h"

#include <cctype>
#include <sstream>
#include <vector>

namespace pgm::pg {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The setting name on a "name = value" or "name value" line; "" for comments and blank lines.
std::string line_key(const std::string& line) {
  std::size_t i = 0;
  while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
  std::size_t start = i;
  while (i < line.size() && (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '_' || line[i] == '.')) ++i;
  return lower(line.substr(start, i - start));
}

// The value part of a line (after the name and an optional '='), unquoted.
std::string line_value(const std::string& line) {
  std::size_t i = 0;
  while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
  while (i < line.size() && (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '_' || line[i] == '.')) ++i;
  while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
  if (i < line.size() && line[i] == '=') ++i;
  while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
  std::string out;
  if (i < line.size() && line[i] == '\'') {
    for (++i; i < line.size(); ++i) {
      char c = line[i];
      if (c == '\'' && i + 1 < line.size() && line[i + 1] == '\'') {
        out.push_back('\'');
        ++i;
      } else if (c == '\\' && i + 1 < line.size()) {
        out.push_back(line[++i]);
      } else if (c == '\'') {
        break;
      } else {
        out.push_back(c);
      }
    }
    return out;
  }
  while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i])) && line[i] != '#') out.push_back(line[i++]);
  return out;
}

}  // namespace

std::string quote_conf_value(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out.push_back(c);
    out.push_back(c);
  }
  return out + "'";
}

std::string set_auto_conf(const std::string& text, const std::map<std::string, std::string>& settings) {
  std::map<std::string, std::string> wanted;
  for (const auto& [k, v] : settings) wanted[lower(k)] = v;
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line)) {
    if (wanted.count(line_key(line)) != 0) continue;
    out += line + "\n";
  }
  for (const auto& [k, v] : settings) out += lower(k) + " = " + quote_conf_value(v) + "\n";
  return out;
}

std::string get_auto_conf(const std::string& text, const std::string& key) {
  const std::string want = lower(key);
  std::istringstream in(text);
  std::string line, value;
  while (std::getline(in, line)) {
    if (line_key(line) == want) value = line_value(line);
  }
  return value;
}

}  // namespace pgm::pg
