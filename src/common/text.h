// Small text helpers shared by the parsers of tool output and configuration files, and by the
// describe_* functions that word a library's results for the cli.
#pragma once

#include <cctype>
#include <cstdarg>
#include <cstdio>
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

// printf into a string: the lines a library hands the cli keep their printf formats ("%-22s",
// "%.3fs"), so moving them out of the cli changes no byte of what a user sees.
[[gnu::format(printf, 1, 2)]] inline std::string strprintf(const char* format, ...) {
  std::va_list args;
  va_start(args, format);
  std::va_list again;
  va_copy(again, args);
  const int n = std::vsnprintf(nullptr, 0, format, args);
  va_end(args);
  std::string out(n > 0 ? static_cast<std::size_t>(n) : 0, '\0');
  if (n > 0) std::vsnprintf(out.data(), out.size() + 1, format, again);
  va_end(again);
  return out;
}

}  // namespace pgm
