#include "common/random.h"

#include <openssl/err.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <climits>

namespace pgm {

Status random_bytes(std::span<std::uint8_t> out) {
  // RAND_bytes takes an int length: fill in slices so that any span size is correct.
  while (!out.empty()) {
    const std::size_t n = std::min<std::size_t>(out.size(), INT_MAX);
    if (RAND_bytes(out.data(), static_cast<int>(n)) != 1) {
      char buf[256];
      ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
      ERR_clear_error();
      return Status(Errc::internal, std::string("no random bytes from OpenSSL: ") + buf);
    }
    out = out.subspan(n);
  }
  return Status::Ok();
}

Result<std::string> random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  PGM_RETURN_IF_ERROR(random_bytes({reinterpret_cast<std::uint8_t*>(raw.data()), raw.size()}));
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * bytes);
  for (char ch : raw) {
    const auto b = static_cast<unsigned char>(ch);
    hex.push_back(kDigits[b >> 4]);
    hex.push_back(kDigits[b & 0xf]);
  }
  return hex;
}

Result<std::uint64_t> random_uniform(std::uint64_t max) {
  std::array<std::uint8_t, sizeof(std::uint64_t)> b{};
  PGM_RETURN_IF_ERROR(random_bytes(b));
  std::uint64_t v = 0;
  for (std::uint8_t x : b) v = (v << 8) | x;
  if (max == UINT64_MAX) return v;
  // The modulo's bias is below max / 2^64: nothing for the jitter and ranges this serves.
  return v % (max + 1);
}

}  // namespace pgm
