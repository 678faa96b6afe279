// The pgmigrate wire format, version 1 (docs/stream-format.md). This is the only code that
// encodes or decodes stream bytes. All integers are little-endian.
//
//   stream  := header record* trailer
//   header  := magic "PGMIGRT1" | version u16 | codec u8 | reserved u8 | chunk_size u32
//              | session_id [16] | snapshot_guid u64 | name_len u16 | name [name_len]
//              | check u32                           (check = XXH32 of every byte before it)
//   record  := a 40-byte record header, then for a frame `enc_len` payload bytes
//   frame   := kind 'F' | codec u8 | reserved u16 | seq u64 | offset u64 | raw_len u32
//              | enc_len u32 | checksum u64 (XXH3-64 of the raw bytes) | check u32
//   trailer := kind 'T' | reserved [3] | total_bytes u64 | chunk_count u64
//              | digest [16] (see StreamDigest) | check u32
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "pgmigrate/status.h"
#include "pgmigrate/stream_format.h"

namespace pgm::stream {

using SessionId = std::array<std::uint8_t, 16>;
using Digest = std::array<std::uint8_t, 16>;
std::string to_hex(std::span<const std::uint8_t> bytes);
// The inverse (lowercase digits only); Errc::protocol for anything else or more than max_bytes.
Result<std::vector<std::uint8_t>> from_hex(std::string_view hex, std::size_t max_bytes);

struct StreamHeader {
  std::uint16_t version = kFormatVersion;
  Codec codec = Codec::zstd;  // the codec frames may use; frames may always be stored raw
  std::uint32_t chunk_size = 0;
  SessionId session_id{};
  std::uint64_t snapshot_guid = 0;  // 0 when unknown (e.g. --send-cmd)
  std::string snapshot_name;        // may be empty; never contains NUL

  bool operator==(const StreamHeader&) const = default;
};

struct FrameHeader {
  Codec codec = Codec::none;
  std::uint64_t seq = 0;
  std::uint64_t offset = 0;  // position of the chunk's first raw byte in the logical stream
  std::uint32_t raw_len = 0;
  std::uint32_t enc_len = 0;
  std::uint64_t checksum = 0;  // XXH3-64 of the raw bytes

  bool operator==(const FrameHeader&) const = default;
};

struct Trailer {
  std::uint64_t total_bytes = 0;
  std::uint64_t chunk_count = 0;
  Digest digest{};

  bool operator==(const Trailer&) const = default;
};

// Largest payload a frame may carry for a stream with this chunk size. A decoder checks
// enc_len against it before allocating, so a forged length never becomes an allocation.
std::size_t max_payload_size(std::uint32_t chunk_size);

std::string encode_header(const StreamHeader& header);
// Decodes a header that occupies exactly `bytes` (use header_size_from_prefix first).
Result<StreamHeader> decode_header(std::span<const std::uint8_t> bytes);
// From the first kHeaderFixedSize bytes: validates the magic and version and returns the
// full header size (fixed part + name + check).
Result<std::size_t> header_size_from_prefix(std::span<const std::uint8_t> prefix);

using RecordBytes = std::array<std::uint8_t, kRecordHeaderSize>;
RecordBytes encode_frame_header(const FrameHeader& frame);
RecordBytes encode_trailer(const Trailer& trailer);

// A record header is either a frame (payload follows) or the trailer (end of stream).
using Record = std::variant<FrameHeader, Trailer>;
// Validates every field that can be checked without context: kind, reserved bytes, the
// check value, codec, lengths against the header's chunk size, offset == seq * chunk_size.
Result<Record> decode_record(const RecordBytes& bytes, const StreamHeader& header);

// Whole-stream digest: XXH3-128 over (seq u64, raw_len u32, checksum u64) of every chunk in
// order. Every chunk's raw bytes are verified against its checksum before use, so this digest
// proves the receiver saw every chunk exactly once and in order; and it can be rebuilt from a
// journal of chunk checksums without re-reading the data (resume).
class StreamDigest {
 public:
  StreamDigest();
  ~StreamDigest();
  StreamDigest(const StreamDigest&) = delete;
  StreamDigest& operator=(const StreamDigest&) = delete;
  void add(std::uint64_t seq, std::uint32_t raw_len, std::uint64_t checksum);
  Digest finish() const;

 private:
  void* state_;  // XXH3_state_t, kept out of this header
};

std::uint64_t chunk_checksum(std::span<const std::uint8_t> raw);

}  // namespace pgm::stream
