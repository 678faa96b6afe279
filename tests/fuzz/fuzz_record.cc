// fuzz_record: the stream header and record-header decoders called directly.
//
// Input layout: a header candidate (its size from header_size_from_prefix; none if the
// prefix is not a header), then 40-byte record headers. Each record is decoded against the
// decoded header, or against fixed valid headers when the header does not decode (so records
// are fuzzed even when the header is broken). Every header and record is decoded as-is and
// again with its check value repaired (see fuzz_support.h).
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "fuzz_support.h"
#include "stream/format.h"

namespace {

using namespace pgm;

stream::StreamHeader fixed_header(stream::Codec codec, std::uint32_t chunk_size) {
  stream::StreamHeader h;
  h.codec = codec;
  h.chunk_size = chunk_size;
  return h;
}

void check_round_trip(const stream::StreamHeader& h) {
  // A header that decodes must re-encode to something that decodes to the same header.
  const std::string enc = stream::encode_header(h);
  const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(enc.data()), enc.size());
  auto again = stream::decode_header(bytes);
  if (!again || !(*again == h)) __builtin_trap();
}

void decode_records(std::span<const std::uint8_t> rest, const stream::StreamHeader& header) {
  for (std::size_t pos = 0; pos + stream::kRecordHeaderSize <= rest.size(); pos += stream::kRecordHeaderSize) {
    stream::RecordBytes rec;
    std::memcpy(rec.data(), rest.data() + pos, rec.size());
    for (int pass = 0; pass < 2; ++pass) {
      if (pass == 1) fuzz::repair_check(rec.data(), rec.size());
      auto r = stream::decode_record(rec, header);
      if (!r) continue;
      if (const auto* f = std::get_if<stream::FrameHeader>(&*r)) {
        // What decode_record promises the reader before it allocates enc_len bytes.
        if (f->raw_len == 0 || f->raw_len > header.chunk_size) __builtin_trap();
        if (f->enc_len > stream::max_payload_size(header.chunk_size)) __builtin_trap();
        if (stream::decode_record(stream::encode_frame_header(*f), header).status().code() != Errc::ok) __builtin_trap();
      } else {
        const auto& t = std::get<stream::Trailer>(*r);
        if (stream::decode_record(stream::encode_trailer(t), header).status().code() != Errc::ok) __builtin_trap();
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  // No recognisable header prefix: the whole input is records. A prefix that claims more
  // than there is: the whole input is a (truncated) header.
  std::size_t header_size = 0;
  if (auto n = stream::header_size_from_prefix(bytes); n) header_size = std::min(*n, size);
  const auto head = bytes.first(header_size);
  const auto rest = bytes.subspan(header_size);

  bool decoded = false;
  std::vector<std::uint8_t> copy(head.begin(), head.end());
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1) {
      if (copy.size() < 4) break;
      fuzz::repair_check(copy.data(), copy.size());
    }
    auto h = stream::decode_header(copy);
    if (!h) continue;
    if (h->chunk_size < stream::kMinChunkSize || h->chunk_size > stream::kMaxChunkSize) __builtin_trap();
    if (h->snapshot_name.size() > stream::kMaxNameLength) __builtin_trap();
    check_round_trip(*h);
    decode_records(rest, *h);
    decoded = true;
    break;
  }
  if (!decoded) {
    decode_records(rest, fixed_header(stream::Codec::zstd, stream::kMinChunkSize));
    decode_records(rest, fixed_header(stream::Codec::none, stream::kMaxChunkSize));
  }
  return 0;
}
