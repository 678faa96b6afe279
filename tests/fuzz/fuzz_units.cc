// fuzz_units: the size and duration arguments (--chunk-size 4M, --stall-timeout 90s, ...),
// which may come from a config file or a remote command line, and their human formatting.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/units.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (auto bytes = pgm::parse_size(text)) {
    if (*bytes > 9'000'000'000'000'000'000ULL) __builtin_trap();  // "rejects overflow"
    (void)pgm::format_bytes(static_cast<double>(*bytes));
    (void)pgm::format_rate(static_cast<double>(*bytes));
  }
  if (auto ms = pgm::parse_duration(text)) {
    if (ms->count() < 0 || ms->count() >= 1'000'000'000'000'000LL) __builtin_trap();
    (void)pgm::format_duration(static_cast<double>(ms->count()) / 1000.0);
  }
  // The formatters take doubles from counters and clocks; feed them any bit pattern.
  if (size == sizeof(double)) {
    double d;
    __builtin_memcpy(&d, data, sizeof d);
    (void)pgm::format_bytes(d);
    (void)pgm::format_rate(d);
    (void)pgm::format_duration(d);
  }
  return 0;
}
