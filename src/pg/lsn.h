// Write-ahead log positions ("16/B374D848") as Postgres prints them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pgm::pg {

struct Lsn {
  std::uint64_t value = 0;

  // Accepts "X/Y" with 1..8 hex digits on each side, as pg_lsn prints it.
  static std::optional<Lsn> parse(std::string_view text);
  // "0/3000060": upper-case hex, no padding, like Postgres.
  std::string str() const;

  friend bool operator==(Lsn a, Lsn b) { return a.value == b.value; }
  friend auto operator<=>(Lsn a, Lsn b) { return a.value <=> b.value; }
};

// Bytes from `from` to `to`; 0 when `to` is not ahead (a standby never has "negative lag").
std::uint64_t lsn_bytes_behind(Lsn to, Lsn from);

}  // namespace pgm::pg
