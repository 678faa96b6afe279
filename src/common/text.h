// Small text helpers shared by the parsers of tool output and configuration files.
#pragma once

#include <cctype>
#include <string>
#include <string_view>

namespace pgm {

// `s` without leading and trailing whitespace (std::isspace: blanks, tabs, CR, LF, FF, VT).
inline std::string trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b])) != 0) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1])) != 0) --e;
  return std::string(s.substr(b, e - b));
}

}  // namespace pgm
