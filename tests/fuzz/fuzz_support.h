// Helpers shared by the libFuzzer targets: a ByteReader over a memory span, and "repair"
// functions that recompute the XXH32 check values of a stream's header and record headers.
//
// Why repair: every header and record carries a 32-bit hash of its bytes. A mutated input
// almost never passes that check, so without repair the fuzzer would only ever exercise the
// "check value mismatch" branch. Each target decodes the input as-is (what the wire really
// delivers) and then a repaired copy, so the field validation behind the check is fuzzed too.
#pragma once

#include <xxhash.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "common/io.h"
#include "stream/format.h"

namespace pgm::fuzz {

// Reads the input exactly once, front to back, like a pipe that delivers it.
class MemoryReader final : public ByteReader {
 public:
  explicit MemoryReader(std::span<const std::uint8_t> data) : data_(data) {}
  Result<std::size_t> read_full(std::span<std::uint8_t> buf) override {
    const std::size_t n = std::min(buf.size(), data_.size() - pos_);
    if (n > 0) std::memcpy(buf.data(), data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::span<const std::uint8_t> data_;
  std::size_t pos_ = 0;
};

// Must match the seed in src/stream/format.cc (check_of). If the format changes it, the
// repaired passes silently stop reaching the fields, so make_corpus's valid seeds are the
// guard: they must decode (see fuzz_stream's seed self-test in make_corpus).
inline constexpr std::uint32_t kCheckSeed = 0x50474d47u;

inline void put_u32(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
inline std::uint32_t get_u32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 | static_cast<std::uint32_t>(p[2]) << 16 |
         static_cast<std::uint32_t>(p[3]) << 24;
}

// Recomputes the check of `n` bytes at `p` whose last 4 bytes are the check.
inline void repair_check(std::uint8_t* p, std::size_t n) { put_u32(p + n - 4, XXH32(p, n - 4, kCheckSeed)); }

// Walks a stream (header, then 40-byte records, skipping each frame's enc_len payload) and
// repairs every check value it can reach. Stops at the first thing it cannot frame.
inline void repair_stream(std::vector<std::uint8_t>& s) {
  if (s.size() < stream::kHeaderFixedSize) return;
  const std::size_t name_len =
      static_cast<std::size_t>(s[stream::kHeaderFixedSize - 2]) | static_cast<std::size_t>(s[stream::kHeaderFixedSize - 1]) << 8;
  std::size_t pos = stream::kHeaderFixedSize + name_len + 4;
  if (pos > s.size()) return;
  repair_check(s.data(), pos);
  while (pos + stream::kRecordHeaderSize <= s.size()) {
    std::uint8_t* rec = s.data() + pos;
    repair_check(rec, stream::kRecordHeaderSize);
    pos += stream::kRecordHeaderSize;
    if (rec[0] != 'F') break;
    pos += get_u32(rec + 24);  // enc_len
  }
}

}  // namespace pgm::fuzz
