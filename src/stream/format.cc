#include "stream/format.h"

#include <xxhash.h>
#if defined(__x86_64__) && __has_include(<xxh_x86dispatch.h>)
// Debian builds libxxhash for baseline x86-64 (SSE2) and adds runtime-dispatched AVX2/AVX-512
// entry points; this header maps XXH3_64bits and XXH3_128bits_update to them. Same hashes,
// faster on the chunk checksums, which cover every byte on both ends.
#include <xxh_x86dispatch.h>
#endif

#include <cstring>

namespace pgm::stream {
namespace {

template <typename T>
void put(std::uint8_t*& p, T value) {
  for (std::size_t i = 0; i < sizeof(T); ++i) *p++ = static_cast<std::uint8_t>(static_cast<std::uint64_t>(value) >> (8 * i));
}

template <typename T>
T get(const std::uint8_t*& p) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<std::uint64_t>(*p++) << (8 * i);
  return static_cast<T>(v);
}

std::uint32_t check_of(const std::uint8_t* data, std::size_t n) { return XXH32(data, n, 0x50474d47u); }

bool valid_codec(std::uint8_t c) { return c == static_cast<std::uint8_t>(Codec::none) || c == static_cast<std::uint8_t>(Codec::zstd); }

// Same bound as ZSTD_COMPRESSBOUND, written out so the format does not depend on the codec
// library's version.
std::size_t zstd_bound(std::size_t n) { return n + (n >> 8) + ((n < (128 << 10)) ? (((128 << 10) - n) >> 11) : 0); }

}  // namespace

const char* codec_name(Codec codec) {
  switch (codec) {
    case Codec::none: return "none";
    case Codec::zstd: return "zstd";
  }
  return "unknown";
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
  static const char* const kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

Result<std::vector<std::uint8_t>> from_hex(std::string_view hex, std::size_t max_bytes) {
  if (hex.size() % 2 != 0 || hex.size() / 2 > max_bytes) return Status(Errc::protocol, "malformed hex in control message");
  std::vector<std::uint8_t> out(hex.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    int v = 0;
    for (int k = 0; k < 2; ++k) {
      const char c = hex[2 * i + k];
      const int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
      if (d < 0) return Status(Errc::protocol, "malformed hex in control message");
      v = v * 16 + d;
    }
    out[i] = static_cast<std::uint8_t>(v);
  }
  return out;
}

std::size_t max_payload_size(std::uint32_t chunk_size) { return zstd_bound(chunk_size); }

std::string encode_header(const StreamHeader& h) {
  std::string out(kHeaderFixedSize + h.snapshot_name.size() + 4, '\0');
  auto* p = reinterpret_cast<std::uint8_t*>(out.data());
  std::memcpy(p, kMagic.data(), kMagic.size());
  p += kMagic.size();
  put<std::uint16_t>(p, h.version);
  put<std::uint8_t>(p, static_cast<std::uint8_t>(h.codec));
  put<std::uint8_t>(p, 0);
  put<std::uint32_t>(p, h.chunk_size);
  std::memcpy(p, h.session_id.data(), h.session_id.size());
  p += h.session_id.size();
  put<std::uint64_t>(p, h.snapshot_guid);
  put<std::uint16_t>(p, static_cast<std::uint16_t>(h.snapshot_name.size()));
  std::memcpy(p, h.snapshot_name.data(), h.snapshot_name.size());  // NOLINT(bugprone-not-null-terminated-result): length-prefixed
  p += h.snapshot_name.size();
  const auto* begin = reinterpret_cast<const std::uint8_t*>(out.data());
  put<std::uint32_t>(p, check_of(begin, static_cast<std::size_t>(p - begin)));
  return out;
}

Result<std::size_t> header_size_from_prefix(std::span<const std::uint8_t> prefix) {
  if (prefix.size() < kHeaderFixedSize) return Status(Errc::truncated, "stream ended inside the stream header");
  if (std::memcmp(prefix.data(), kMagic.data(), kMagic.size()) != 0)
    return Status(Errc::corrupt, "not a pgmigrate stream (bad magic in the stream header)");
  const std::uint8_t* p = prefix.data() + kMagic.size();
  auto version = get<std::uint16_t>(p);
  if (version != kFormatVersion)
    return Status(Errc::unsupported, "stream format version " + std::to_string(version) +
                                         " is not supported (this pgmigrate reads version " + std::to_string(kFormatVersion) + ")");
  p = prefix.data() + kHeaderFixedSize - 2;
  auto name_len = get<std::uint16_t>(p);
  if (name_len > kMaxNameLength)
    return Status(Errc::corrupt,
                  "stream header: snapshot name length " + std::to_string(name_len) + " exceeds " + std::to_string(kMaxNameLength));
  return kHeaderFixedSize + name_len + 4;
}

Result<StreamHeader> decode_header(std::span<const std::uint8_t> bytes) {
  auto size = header_size_from_prefix(bytes);
  if (!size) return size.status();
  if (bytes.size() != *size) return Status(Errc::truncated, "stream ended inside the stream header");
  const std::uint8_t* p = bytes.data() + bytes.size() - 4;
  if (get<std::uint32_t>(p) != check_of(bytes.data(), bytes.size() - 4))
    return Status(Errc::corrupt, "stream header: check value mismatch (header corrupted)");
  StreamHeader h;
  p = bytes.data() + kMagic.size();
  h.version = get<std::uint16_t>(p);
  auto codec = get<std::uint8_t>(p);
  if (!valid_codec(codec)) return Status(Errc::corrupt, "stream header: unknown codec " + std::to_string(codec));
  h.codec = static_cast<Codec>(codec);
  if (get<std::uint8_t>(p) != 0) return Status(Errc::corrupt, "stream header: reserved byte is not zero");
  h.chunk_size = get<std::uint32_t>(p);
  if (h.chunk_size < kMinChunkSize || h.chunk_size > kMaxChunkSize)
    return Status(Errc::corrupt, "stream header: chunk size " + std::to_string(h.chunk_size) + " is outside 64 KiB..64 MiB");
  std::memcpy(h.session_id.data(), p, h.session_id.size());
  p += h.session_id.size();
  h.snapshot_guid = get<std::uint64_t>(p);
  auto name_len = get<std::uint16_t>(p);
  h.snapshot_name.assign(reinterpret_cast<const char*>(p), name_len);
  if (h.snapshot_name.find('\0') != std::string::npos) return Status(Errc::corrupt, "stream header: snapshot name contains NUL");
  return h;
}

RecordBytes encode_frame_header(const FrameHeader& f) {
  RecordBytes out{};
  std::uint8_t* p = out.data();
  put<std::uint8_t>(p, 'F');
  put<std::uint8_t>(p, static_cast<std::uint8_t>(f.codec));
  put<std::uint16_t>(p, 0);
  put<std::uint64_t>(p, f.seq);
  put<std::uint64_t>(p, f.offset);
  put<std::uint32_t>(p, f.raw_len);
  put<std::uint32_t>(p, f.enc_len);
  put<std::uint64_t>(p, f.checksum);
  put<std::uint32_t>(p, check_of(out.data(), kRecordHeaderSize - 4));
  return out;
}

RecordBytes encode_trailer(const Trailer& t) {
  RecordBytes out{};
  std::uint8_t* p = out.data();
  put<std::uint8_t>(p, 'T');
  put<std::uint8_t>(p, 0);
  put<std::uint16_t>(p, 0);
  put<std::uint64_t>(p, t.total_bytes);
  put<std::uint64_t>(p, t.chunk_count);
  std::memcpy(p, t.digest.data(), t.digest.size());
  p += t.digest.size();
  put<std::uint32_t>(p, check_of(out.data(), kRecordHeaderSize - 4));
  return out;
}

Result<Record> decode_record(const RecordBytes& bytes, const StreamHeader& header) {
  const std::uint8_t* p = bytes.data() + kRecordHeaderSize - 4;
  if (get<std::uint32_t>(p) != check_of(bytes.data(), kRecordHeaderSize - 4))
    return Status(Errc::corrupt, "record header check value mismatch (record header corrupted)");
  p = bytes.data();
  auto kind = get<std::uint8_t>(p);
  if (kind == 'F') {
    FrameHeader f;
    auto codec = get<std::uint8_t>(p);
    if (!valid_codec(codec)) return Status(Errc::corrupt, "frame: unknown codec " + std::to_string(codec));
    f.codec = static_cast<Codec>(codec);
    if (get<std::uint16_t>(p) != 0) return Status(Errc::corrupt, "frame: reserved bytes are not zero");
    f.seq = get<std::uint64_t>(p);
    f.offset = get<std::uint64_t>(p);
    f.raw_len = get<std::uint32_t>(p);
    f.enc_len = get<std::uint32_t>(p);
    f.checksum = get<std::uint64_t>(p);
    const std::string where = "chunk " + std::to_string(f.seq) + " (offset " + std::to_string(f.offset) + ")";
    if (f.codec != Codec::none && f.codec != header.codec)
      return Status(Errc::corrupt, where + ": codec " + codec_name(f.codec) + " does not match the stream's " + codec_name(header.codec));
    if (f.seq > (UINT64_MAX / header.chunk_size) || f.offset != f.seq * header.chunk_size)
      return Status(Errc::corrupt, where + ": offset does not match sequence number " + std::to_string(f.seq) + " x chunk size " +
                                       std::to_string(header.chunk_size));
    if (f.raw_len == 0 || f.raw_len > header.chunk_size)
      return Status(Errc::corrupt,
                    where + ": raw length " + std::to_string(f.raw_len) + " is outside 1.." + std::to_string(header.chunk_size));
    if (f.codec == Codec::none && f.enc_len != f.raw_len)
      return Status(Errc::corrupt, where + ": stored chunk has encoded length " + std::to_string(f.enc_len) + " != raw length " +
                                       std::to_string(f.raw_len));
    if (f.codec == Codec::zstd && (f.enc_len == 0 || f.enc_len >= f.raw_len))
      return Status(Errc::corrupt,
                    where + ": compressed length " + std::to_string(f.enc_len) + " is not below raw length " + std::to_string(f.raw_len));
    return Record{f};
  }
  if (kind == 'T') {
    if (get<std::uint8_t>(p) != 0 || get<std::uint16_t>(p) != 0) return Status(Errc::corrupt, "trailer: reserved bytes are not zero");
    Trailer t;
    t.total_bytes = get<std::uint64_t>(p);
    t.chunk_count = get<std::uint64_t>(p);
    std::memcpy(t.digest.data(), p, t.digest.size());
    return Record{t};
  }
  return Status(Errc::corrupt, "unknown record kind " + std::to_string(kind));
}

StreamDigest::StreamDigest() : state_(XXH3_createState()) { XXH3_128bits_reset(static_cast<XXH3_state_t*>(state_)); }
StreamDigest::~StreamDigest() { XXH3_freeState(static_cast<XXH3_state_t*>(state_)); }

void StreamDigest::add(std::uint64_t seq, std::uint32_t raw_len, std::uint64_t checksum) {
  std::uint8_t rec[20];
  std::uint8_t* p = rec;
  put<std::uint64_t>(p, seq);
  put<std::uint32_t>(p, raw_len);
  put<std::uint64_t>(p, checksum);
  XXH3_128bits_update(static_cast<XXH3_state_t*>(state_), rec, sizeof rec);
}

Digest StreamDigest::finish() const {
  XXH128_hash_t h = XXH3_128bits_digest(static_cast<XXH3_state_t*>(state_));
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, h);
  Digest d;
  std::memcpy(d.data(), c.digest, d.size());
  return d;
}

std::uint64_t chunk_checksum(std::span<const std::uint8_t> raw) { return XXH3_64bits(raw.data(), raw.size()); }

}  // namespace pgm::stream
