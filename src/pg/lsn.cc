#include "pg/lsn.h"

#include <cstdio>

namespace pgm::pg {
namespace {

bool parse_hex32(std::string_view s, std::uint32_t& out) {
  if (s.empty() || s.size() > 8) return false;
  std::uint32_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return false;
    v = (v << 4) | static_cast<std::uint32_t>(d);
  }
  out = v;
  return true;
}

}  // namespace

std::optional<Lsn> Lsn::parse(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::uint32_t hi = 0, lo = 0;
  if (!parse_hex32(text.substr(0, slash), hi) || !parse_hex32(text.substr(slash + 1), lo)) return std::nullopt;
  return Lsn{(static_cast<std::uint64_t>(hi) << 32) | lo};
}

std::string Lsn::str() const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(value >> 32), static_cast<unsigned>(value & 0xffffffffu));
  return buf;
}

std::uint64_t lsn_bytes_behind(Lsn to, Lsn from) { return to.value > from.value ? to.value - from.value : 0; }

}  // namespace pgm::pg
