// Reads and writes whole streams over a ByteReader/ByteWriter: framing, bounds and (for a
// single ordered lane) sequence checks. Payloads are returned still encoded and unverified;
// the engine's decoders verify them.
#pragma once

#include <cstdint>
#include <variant>

#include "common/buffer.h"
#include "common/io.h"
#include "stream/format.h"

namespace pgm::stream {

struct Frame {
  FrameHeader header;
  Buffer payload;
};
using Item = std::variant<Frame, Trailer>;

class StreamReader {
 public:
  // strict_order: the lane carries every chunk in order (a pipe); duplicates, gaps and
  // reordering are reported here, naming the chunk.
  StreamReader(ByteReader& in, bool strict_order) : in_(in), strict_order_(strict_order) {}

  Result<StreamHeader> read_header();
  // The next frame or the trailer. After the trailer, checks that nothing follows it.
  Result<Item> next();

 private:
  ByteReader& in_;
  bool strict_order_;
  StreamHeader header_;
  bool have_header_ = false;
  std::uint64_t next_seq_ = 0;
  std::uint64_t logical_offset_ = 0;  // offset of the next expected chunk
  bool saw_short_chunk_ = false;
};

class StreamWriter {
 public:
  explicit StreamWriter(ByteWriter& out) : out_(out) {}
  Status write_header(const StreamHeader& header);
  Status write_frame(const FrameHeader& header, std::span<const std::uint8_t> payload);
  Status write_trailer(const Trailer& trailer);

 private:
  ByteWriter& out_;
};

}  // namespace pgm::stream
