// fuzz_stream: arbitrary bytes as a whole pgmigrate stream, through the same path the
// receiver uses: StreamReader (framing, bounds, order) then codec::Decoder (zstd, checksum),
// then the trailer check against a StreamDigest. Iterates until an error or the trailer.
//
// Must hold on every input: no crash, no UB, no read out of bounds, no hang, and no
// allocation beyond what a valid header allows (a frame is at most max_payload_size of a
// 64 MiB chunk); a length field asking for 4 GiB must be an error, not an allocation.
#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "codec/codec.h"
#include "fuzz_support.h"
#include "stream/format.h"
#include "stream/reader.h"

namespace {

using namespace pgm;

// Far more records than any input within -max_len can frame; only a bug (a reader that
// stops consuming bytes) could reach it.
constexpr int kMaxItems = 1 << 20;

void run(std::span<const std::uint8_t> bytes, bool strict_order, codec::Decoder& decoder) {
  fuzz::MemoryReader in(bytes);
  stream::StreamReader reader(in, strict_order);
  auto header = reader.read_header();
  if (!header) return;
  stream::StreamDigest digest;
  std::uint64_t total = 0, chunks = 0;
  for (int i = 0; i < kMaxItems; ++i) {
    auto item = reader.next();
    if (!item) return;
    if (auto* trailer = std::get_if<stream::Trailer>(&*item)) {
      // What the receiver does with a trailer: compare it with what it verified.
      const bool match = trailer->total_bytes == total && trailer->chunk_count == chunks && trailer->digest == digest.finish();
      (void)match;
      return;
    }
    auto& frame = std::get<stream::Frame>(*item);
    if (frame.payload.size() > stream::max_payload_size(header->chunk_size)) __builtin_trap();  // the bound the reader promises
    const stream::FrameHeader fh = frame.header;
    auto raw = decoder.decode(fh, std::move(frame.payload));
    if (!raw) return;
    if (raw->size() != fh.raw_len) __builtin_trap();  // Decoder promises exactly raw_len bytes
    digest.add(fh.seq, fh.raw_len, fh.checksum);
    total += fh.raw_len;
    ++chunks;
  }
  __builtin_trap();  // the reader stopped making progress
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static codec::Decoder decoder;  // one per thread, reused for every chunk, as in the engine
  const std::span<const std::uint8_t> bytes(data, size);
  // 1. The bytes exactly as a pipe would deliver them (a single ordered lane).
  run(bytes, /*strict_order=*/true, decoder);
  // 2. The same bytes with every reachable check value recomputed, so that the validation of
  //    the fields behind the checks is explored too; the last byte picks the reader mode.
  std::vector<std::uint8_t> repaired(bytes.begin(), bytes.end());
  fuzz::repair_stream(repaired);
  if (repaired != std::vector<std::uint8_t>(bytes.begin(), bytes.end()) || (size > 0 && (data[size - 1] & 1)))
    run(repaired, /*strict_order=*/size == 0 || (data[size - 1] & 2) == 0, decoder);
  return 0;
}
