// fuzz_lsn: Lsn::parse (src/pg/lsn.h), which reads every WAL position pgmigrate gets from a
// server, pg_controldata or a replication status ("16/B374D848").
//
// Invariants: a parsed Lsn prints (str) as something that parses to the same value; parse
// accepts only "X/Y" with 1..8 hex digits each side; lsn_bytes_behind never wraps.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pg/lsn.h"

namespace {

bool hex_digits(std::string_view s) {
  if (s.empty() || s.size() > 8) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto lsn = pgm::pg::Lsn::parse(text);
  if (lsn) {
    const std::size_t slash = text.find('/');
    if (slash == std::string_view::npos || !hex_digits(text.substr(0, slash)) || !hex_digits(text.substr(slash + 1))) __builtin_trap();
    const auto again = pgm::pg::Lsn::parse(lsn->str());
    if (!again || !(*again == *lsn) || again->str() != lsn->str()) __builtin_trap();
  }
  // Two positions from one input (split at the first NUL), as lag is computed from them.
  const std::size_t nul = text.find('\0');
  if (nul != std::string_view::npos) {
    const auto a = pgm::pg::Lsn::parse(text.substr(0, nul));
    const auto b = pgm::pg::Lsn::parse(text.substr(nul + 1));
    if (a && b) {
      const std::uint64_t behind = pgm::pg::lsn_bytes_behind(*a, *b);
      if (behind != (*a > *b ? a->value - b->value : 0)) __builtin_trap();
    }
  }
  return 0;
}
