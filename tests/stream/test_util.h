// Builds whole streams in memory for tests (the project's own encoder, not hand-made bytes).
#pragma once

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "codec/codec.h"
#include "stream/reader.h"

namespace pgm::testing {

class MemoryReader final : public ByteReader {
 public:
  explicit MemoryReader(std::string data) : data_(std::move(data)) {}
  Result<std::size_t> read_full(std::span<std::uint8_t> buf) override {
    std::size_t n = std::min(buf.size(), data_.size() - pos_);
    std::memcpy(buf.data(), data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string data_;
  std::size_t pos_ = 0;
};

class MemoryWriter final : public ByteWriter {
 public:
  Status write_all(std::span<const std::uint8_t> buf) override {
    data.append(reinterpret_cast<const char*>(buf.data()), buf.size());
    ++writes;
    return Status::Ok();
  }
  std::string data;
  std::size_t writes = 0;
};

inline std::string make_payload(std::size_t n, bool compressible, std::uint32_t seed = 1) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = compressible ? static_cast<char>("abcdefgh"[(i / 7 + rng() % 2) % 8]) : static_cast<char>(rng());
  return s;
}

struct BuiltStream {
  std::string bytes;
  std::vector<std::size_t> record_offsets;  // where each record header starts (frames, then trailer)
  stream::StreamHeader header;
  stream::Trailer trailer;
};

// Encodes `raw` as a stream with the given chunk size, compressing with zstd level 3.
inline BuiltStream build_stream(const std::string& raw, std::uint32_t chunk_size, int level = 3) {
  BuiltStream out;
  out.header.codec = stream::Codec::zstd;
  out.header.chunk_size = chunk_size;
  out.header.session_id[0] = 7;
  out.header.snapshot_guid = 1234567;
  out.header.snapshot_name = "tank/pgdata@base";
  MemoryWriter w;
  stream::StreamWriter sw(w);
  (void)sw.write_header(out.header);
  codec::Encoder enc(level);
  stream::StreamDigest digest;
  std::uint64_t seq = 0;
  for (std::size_t off = 0; off < raw.size(); off += chunk_size, ++seq) {
    std::size_t n = std::min<std::size_t>(chunk_size, raw.size() - off);
    Buffer b(n);
    std::memcpy(b.data(), raw.data() + off, n);
    b.resize(n);
    auto e = enc.encode(std::move(b));
    e.header.seq = seq;
    e.header.offset = off;
    digest.add(seq, e.header.raw_len, e.header.checksum);
    out.record_offsets.push_back(w.data.size());
    (void)sw.write_frame(e.header, e.payload.span());
  }
  out.trailer.total_bytes = raw.size();
  out.trailer.chunk_count = seq;
  out.trailer.digest = digest.finish();
  out.record_offsets.push_back(w.data.size());
  (void)sw.write_trailer(out.trailer);
  out.bytes = std::move(w.data);
  return out;
}

}  // namespace pgm::testing
