// make_corpus: writes the seed corpora of the fuzz targets, using the project's own encoder
// (codec::Encoder, StreamWriter) so that valid seeds are exactly what `pgmigrate send` puts on
// the wire, plus corrupted variants: truncations, flipped bytes, forged fields with repaired
// check values (a 4 GiB enc_len, duplicate, reordered and missing chunks, ...).
//
//   make_corpus OUT_DIR      writes OUT_DIR/<target>/seed-* (deterministic output)
//
// It also checks itself: every valid stream must decode to its trailer through StreamReader +
// Decoder, and every corrupt one must fail, so a format change that breaks the corpus (or the
// check-value repair in fuzz_support.h) is noticed here instead of silently fuzzing nothing.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "codec/codec.h"
#include "fuzz_support.h"
#include "journal/journal.h"
#include "stream/format.h"
#include "stream/reader.h"
#include "transport/control.h"

namespace {

using namespace pgm;
using Bytes = std::vector<std::uint8_t>;

class MemoryWriter final : public ByteWriter {
 public:
  Status write_all(std::span<const std::uint8_t> buf) override {
    out.insert(out.end(), buf.begin(), buf.end());
    return Status::Ok();
  }
  Bytes out;
};

// Deterministic, so the committed corpus only changes when this program does.
std::uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
std::uint64_t next_random() {
  std::uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

Buffer random_bytes(std::size_t n) {
  Buffer b(n);
  for (std::size_t i = 0; i < n; ++i) b.data()[i] = static_cast<std::uint8_t>(next_random());
  b.resize(n);
  return b;
}

Buffer text_bytes(std::size_t n) {  // compresses well, but not to nothing
  static const char kWords[] = "postgres wal segment zfs snapshot tank pgdata block checkpoint ";
  Buffer b(n);
  for (std::size_t i = 0; i < n; ++i)
    b.data()[i] = static_cast<std::uint8_t>((i % 997 == 0) ? next_random() : kWords[i % (sizeof kWords - 1)]);
  b.resize(n);
  return b;
}

struct Layout {  // where things are in an encoded stream, for targeted corruption
  std::size_t header_size = 0;
  std::vector<std::size_t> records;  // offset of each record header (frames, then the trailer)
};

struct Stream {
  Bytes bytes;
  Layout layout;
};

// Encodes `chunks` (each at most chunk_size; only the last may be short) as pgmigrate send does.
Stream encode_stream(stream::Codec codec, std::uint32_t chunk_size, const std::string& name, std::vector<Buffer> chunks, int level) {
  MemoryWriter w;
  stream::StreamWriter writer(w);
  stream::StreamHeader h;
  h.codec = codec;
  h.chunk_size = chunk_size;
  for (std::size_t i = 0; i < h.session_id.size(); ++i) h.session_id[i] = static_cast<std::uint8_t>(0xa0 + i);
  h.snapshot_guid = 0x1122334455667788ULL;
  h.snapshot_name = name;
  Stream s;
  (void)writer.write_header(h);
  s.layout.header_size = w.out.size();
  codec::Encoder enc(codec == stream::Codec::none ? codec::kNoCompression : level);
  stream::StreamDigest digest;
  stream::Trailer t;
  for (std::size_t seq = 0; seq < chunks.size(); ++seq) {
    codec::Encoded e = enc.encode(std::move(chunks[seq]));
    e.header.seq = seq;
    e.header.offset = seq * chunk_size;
    digest.add(e.header.seq, e.header.raw_len, e.header.checksum);
    t.total_bytes += e.header.raw_len;
    ++t.chunk_count;
    s.layout.records.push_back(w.out.size());
    (void)writer.write_frame(e.header, e.payload.span());
  }
  t.digest = digest.finish();
  s.layout.records.push_back(w.out.size());
  (void)writer.write_trailer(t);
  s.bytes = std::move(w.out);
  return s;
}

// Decodes like fuzz_stream (strict order) and verifies the trailer; true if the whole stream
// is accepted.
bool stream_accepted(const Bytes& bytes) {
  fuzz::MemoryReader in(bytes);
  stream::StreamReader reader(in, true);
  auto header = reader.read_header();
  if (!header) return false;
  codec::Decoder dec;
  stream::StreamDigest digest;
  std::uint64_t total = 0, count = 0;
  for (;;) {
    auto item = reader.next();
    if (!item) return false;
    if (auto* t = std::get_if<stream::Trailer>(&*item))
      return t->total_bytes == total && t->chunk_count == count && t->digest == digest.finish();
    auto& f = std::get<stream::Frame>(*item);
    const auto fh = f.header;
    auto raw = dec.decode(fh, std::move(f.payload));
    if (!raw) return false;
    digest.add(fh.seq, fh.raw_len, fh.checksum);
    total += fh.raw_len;
    ++count;
  }
}

std::filesystem::path out_root;
int failures = 0;
std::size_t files = 0, total_size = 0;

void write_file(const std::string& target, const std::string& name, const void* data, std::size_t n) {
  const auto dir = out_root / target;
  std::filesystem::create_directories(dir);
  std::ofstream f(dir / ("seed-" + name), std::ios::binary | std::ios::trunc);
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
  ++files;
  total_size += n;
}
void write_file(const std::string& target, const std::string& name, const Bytes& b) { write_file(target, name, b.data(), b.size()); }
void write_text(const std::string& target, const std::string& name, const std::string& s) { write_file(target, name, s.data(), s.size()); }

void valid(const std::string& name, const Stream& s) {
  if (!stream_accepted(s.bytes)) {
    std::fprintf(stderr, "make_corpus: valid stream '%s' was rejected\n", name.c_str());
    ++failures;
  }
  write_file("fuzz_stream", "valid-" + name, s.bytes);
}

void corrupt(const std::string& name, const Bytes& b) {
  if (stream_accepted(b)) {
    std::fprintf(stderr, "make_corpus: corrupt stream '%s' was accepted\n", name.c_str());
    ++failures;
  }
  write_file("fuzz_stream", "corrupt-" + name, b);
}

void put_le(Bytes& b, std::size_t at, std::uint64_t v, int n) {
  for (int i = 0; i < n; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// Sets a field of the record at `rec` and repairs its check: a forgery the check cannot catch.
Bytes forge_record(const Stream& s, std::size_t rec, std::size_t field, std::uint64_t v, int n) {
  Bytes b = s.bytes;
  put_le(b, rec + field, v, n);
  fuzz::repair_check(b.data() + rec, stream::kRecordHeaderSize);
  return b;
}
Bytes forge_header(const Stream& s, std::size_t field, std::uint64_t v, int n) {
  Bytes b = s.bytes;
  put_le(b, field, v, n);
  fuzz::repair_check(b.data(), s.layout.header_size);
  return b;
}

Bytes slice(const Bytes& b, std::size_t from, std::size_t to) {
  return Bytes(b.begin() + static_cast<std::ptrdiff_t>(from), b.begin() + static_cast<std::ptrdiff_t>(to));
}
Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// Record header field offsets (docs/stream-format.md).
constexpr std::size_t kKind = 0, kCodec = 1, kReserved = 2, kSeq = 4, kOffset = 12, kRawLen = 20, kEncLen = 24, kChecksum = 28;
constexpr std::size_t kTotal = 4, kCount = 12, kDigest = 20;

void stream_seeds() {
  constexpr std::uint32_t k64K = stream::kMinChunkSize;
  // Valid streams.
  valid("empty", encode_stream(stream::Codec::zstd, k64K, "tank/pgdata@empty", {}, 3));
  valid("one-short-zstd", encode_stream(
                              stream::Codec::zstd, k64K, "tank/pgdata@s1",
                              [] {
                                std::vector<Buffer> v;
                                v.push_back(text_bytes(3000));
                                return v;
                              }(),
                              3));
  valid("one-short-stored", encode_stream(
                                stream::Codec::none, k64K, "",
                                [] {
                                  std::vector<Buffer> v;
                                  v.push_back(random_bytes(700));
                                  return v;
                                }(),
                                0));
  valid("zstd-stream-stored-chunk", encode_stream(
                                        stream::Codec::zstd, k64K, "p@x",
                                        [] {
                                          std::vector<Buffer> v;
                                          v.push_back(random_bytes(200));  // does not shrink: stored raw in a zstd stream
                                          return v;
                                        }(),
                                        3));
  valid("long-name", encode_stream(
                         stream::Codec::zstd, 1u << 20, std::string(stream::kMaxNameLength, 'n'),
                         [] {
                           std::vector<Buffer> v;
                           v.push_back(text_bytes(100));
                           return v;
                         }(),
                         1));
  auto zeros = [](std::size_t n) {
    Buffer b(n);
    std::memset(b.data(), 0, n);
    b.resize(n);
    return b;
  };
  valid("many-chunks-zeros", encode_stream(
                                 stream::Codec::zstd, k64K, "tank/a@b",
                                 [&] {
                                   std::vector<Buffer> v;
                                   for (int i = 0; i < 8; ++i) v.push_back(zeros(k64K));
                                   v.push_back(zeros(1));
                                   return v;
                                 }(),
                                 1));
  valid("full-chunk-stored", encode_stream(
                                 stream::Codec::zstd, k64K, "tank/a@random",
                                 [] {
                                   std::vector<Buffer> v;
                                   v.push_back(random_bytes(k64K));
                                   v.push_back(random_bytes(10));
                                   return v;
                                 }(),
                                 1));

  // The base for targeted corruption: three text chunks (two full, one short), all zstd.
  const Stream base = encode_stream(
      stream::Codec::zstd, k64K, "tank/pgdata@base",
      [] {
        std::vector<Buffer> v;
        v.push_back(text_bytes(k64K));
        v.push_back(text_bytes(k64K));
        v.push_back(text_bytes(1234));
        return v;
      }(),
      3);
  valid("base-3-chunks", base);
  const Bytes& b = base.bytes;
  const std::size_t h = base.layout.header_size;
  const std::size_t r0 = base.layout.records[0], r1 = base.layout.records[1], r2 = base.layout.records[2], tr = base.layout.records[3];

  // Truncations at every kind of boundary.
  for (std::size_t cut :
       {std::size_t{0}, std::size_t{5}, stream::kHeaderFixedSize - 1, h - 1, h, r0 + 20, r0 + 40, r0 + 41, r1 - 1, tr, tr + 39})
    corrupt("truncated-at-" + std::to_string(cut), slice(b, 0, cut));

  // Single flipped bits, check values left as they are.
  for (std::size_t at : {std::size_t{0}, std::size_t{8}, std::size_t{10}, std::size_t{12}, std::size_t{16}, h - 6, h - 1, r0, r0 + kSeq,
                         r0 + kEncLen, r0 + 39, r0 + 40, r1 + 60, tr + kTotal, tr + kDigest}) {
    Bytes c = b;
    c[at] ^= 0x01;
    corrupt("flip-at-" + std::to_string(at), c);
  }

  // Forged fields with repaired check values: only the field validation can catch these.
  corrupt("forged-enc-len-4GiB", forge_record(base, r0, kEncLen, 0xffffffffu, 4));
  corrupt("forged-raw-len-4GiB", forge_record(base, r0, kRawLen, 0xffffffffu, 4));
  corrupt("forged-raw-len-0", forge_record(base, r0, kRawLen, 0, 4));
  corrupt("forged-enc-len-0", forge_record(base, r0, kEncLen, 0, 4));
  corrupt("forged-enc-len-plus-1", forge_record(base, r2, kEncLen, fuzz::get_u32(b.data() + r2 + kEncLen) + 1u, 4));
  corrupt("forged-raw-len-minus-1", forge_record(base, r0, kRawLen, k64K - 1, 4));
  corrupt("forged-seq-huge", forge_record(base, r0, kSeq, 0xffffffffffffffffULL, 8));
  corrupt("forged-offset", forge_record(base, r1, kOffset, 12345, 8));
  corrupt("forged-codec-7", forge_record(base, r0, kCodec, 7, 1));
  corrupt("forged-codec-none", forge_record(base, r0, kCodec, 0, 1));
  corrupt("forged-reserved", forge_record(base, r0, kReserved, 1, 2));
  corrupt("forged-kind", forge_record(base, r0, kKind, 'X', 1));
  corrupt("forged-checksum", forge_record(base, r0, kChecksum, 42, 8));
  corrupt("forged-trailer-total", forge_record(base, tr, kTotal, 1, 8));
  corrupt("forged-trailer-count", forge_record(base, tr, kCount, 99, 8));
  corrupt("forged-trailer-digest", forge_record(base, tr, kDigest, 0, 8));
  corrupt("forged-trailer-reserved", forge_record(base, tr, 1, 1, 1));
  corrupt("forged-header-version", forge_header(base, 8, 2, 2));
  corrupt("forged-header-codec", forge_header(base, 10, 9, 1));
  corrupt("forged-header-reserved", forge_header(base, 11, 1, 1));
  corrupt("forged-header-chunk-size-4GiB", forge_header(base, 12, 0xffffffffu, 4));
  corrupt("forged-header-chunk-size-0", forge_header(base, 12, 0, 4));
  corrupt("forged-header-chunk-size-small", forge_header(base, 12, 4096, 4));
  {
    Bytes c = b;
    put_le(c, stream::kHeaderFixedSize - 2, 0xffff, 2);  // name length 65535
    corrupt("forged-header-name-len", c);
    Bytes d = b;
    d[stream::kHeaderFixedSize + 3] = 0;  // NUL inside the name
    fuzz::repair_check(d.data(), h);
    corrupt("forged-header-name-nul", d);
  }
  {
    // A zstd payload corrupted inside, with the frame's checks intact.
    Bytes c = b;
    c[r0 + 40 + 20] ^= 0xff;
    corrupt("payload-corrupt", c);
    Bytes d = b;
    d[r0 + 40 + 5] ^= 0x20;  // zstd frame header: content size field
    corrupt("payload-frame-header", d);
  }

  // Stream structure.
  const Bytes hdr = slice(b, 0, h), c0 = slice(b, r0, r1), c1 = slice(b, r1, r2), c2 = slice(b, r2, tr), trailer = slice(b, tr, b.size());
  corrupt("duplicate-chunk", concat({hdr, c0, c0, c1, c2, trailer}));
  corrupt("reordered-chunks", concat({hdr, c1, c0, c2, trailer}));
  corrupt("missing-chunk", concat({hdr, c0, c2, trailer}));
  corrupt("short-chunk-in-middle", concat({hdr, c0, c2, c1, trailer}));
  corrupt("no-trailer", concat({hdr, c0, c1, c2}));
  corrupt("data-after-trailer", concat({b, Bytes{0}}));
  corrupt("two-trailers", concat({b, trailer}));
  corrupt("two-headers", concat({hdr, hdr, c0, c1, c2, trailer}));
  corrupt("header-only", hdr);
  corrupt("not-a-stream", Bytes{'h', 'e', 'l', 'l', 'o', '\n'});
}

void record_seeds() {
  // fuzz_record input: header, then 40-byte records.
  const Stream base = encode_stream(
      stream::Codec::zstd, stream::kMinChunkSize, "tank/pg@r",
      [] {
        std::vector<Buffer> v;
        v.push_back(text_bytes(stream::kMinChunkSize));
        v.push_back(random_bytes(100));
        return v;
      }(),
      3);
  const Bytes& b = base.bytes;
  const auto& r = base.layout.records;
  auto rec = [&](std::size_t i) { return slice(b, r[i], r[i] + stream::kRecordHeaderSize); };
  const Bytes hdr = slice(b, 0, base.layout.header_size);
  write_file("fuzz_record", "header-and-records", concat({hdr, rec(0), rec(1), rec(2)}));
  write_file("fuzz_record", "header-only", hdr);
  write_file("fuzz_record", "records-only", concat({rec(0), rec(1), rec(2)}));
  write_file("fuzz_record", "forged-enc-len-4GiB", slice(forge_record(base, r[0], kEncLen, 0xffffffffu, 4), r[0], r[0] + 40));
  write_file("fuzz_record", "forged-seq-huge", concat({hdr, slice(forge_record(base, r[1], kSeq, 1ULL << 60, 8), r[1], r[1] + 40)}));
  write_file("fuzz_record", "forged-chunk-size",
             concat({slice(forge_header(base, 12, 0xffffffffu, 4), 0, base.layout.header_size), rec(0)}));
  const Stream none = encode_stream(
      stream::Codec::none, stream::kMaxChunkSize, "",
      [] {
        std::vector<Buffer> v;
        v.push_back(random_bytes(10));
        return v;
      }(),
      0);
  write_file("fuzz_record", "codec-none-64MiB", slice(none.bytes, 0, none.bytes.size()));
}

void unit_seeds() {
  int i = 0;
  for (const char* s : {"4M",
                        "512K",
                        "1.5GiB",
                        "2G",
                        "1T",
                        "0",
                        "1",
                        "64KiB",
                        "4 MiB",
                        "1kb",
                        "8191.5",
                        "0.5K",
                        "18446744073709551615",
                        "9e18",
                        "1e9",
                        "0x10",
                        "-1",
                        "+1",
                        "4MM",
                        "4Q",
                        "",
                        ".",
                        "1..2",
                        "8388608T",
                        "99999999999999999999999999999999999",
                        "250ms",
                        "30s",
                        "10m",
                        "2h",
                        "1d",
                        "1.5min",
                        "0.001ms",
                        "999999999999h",
                        "5.",
                        ".5s",
                        "10 s",
                        "1w"})
    write_text("fuzz_units", std::to_string(i++), s);
}

void name_seeds() {
  int i = 0;
  const std::string z(1, '\0');
  for (const std::string& s : {std::string("-"),
                               std::string("host:tank/pg"),
                               std::string("user@host:tank/pg@snap"),
                               std::string("[::1]:tank/x"),
                               std::string("[fe80::1%eth0]:tank"),
                               std::string("u@[::1]:t/a@b"),
                               std::string("host:"),
                               std::string(":tank"),
                               std::string("@host:x"),
                               std::string("tank/pgdata@snap1") + z + "@snap0" + z + "\x7f",
                               std::string("tank/pgdata@snap2") + z + "tank/pgdata@snap1" + z + "\xff",
                               std::string("tank/pgdata") + z + z + "\x1f",
                               std::string("tank/../etc"),
                               std::string("tank/./x"),
                               std::string("-tank/x"),
                               std::string("tank/-x@s"),
                               std::string("tank//x"),
                               std::string("tank/x/"),
                               std::string("/tank"),
                               std::string("tank@a@b"),
                               std::string("tank/x; rm -rf /"),
                               std::string("tank/$(id)@s"),
                               std::string("tank/x\n@s"),
                               std::string(255, 'a'),
                               std::string(256, 'a'),
                               std::string("tank/") + std::string(250, 'b') + "@s",
                               std::string("a:b:c@d:e"),
                               std::string("h:x") + z + "@" + z + "\x40"})
    write_text("fuzz_names", std::to_string(i++), s);
}

// Control-channel lines as the two halves write them (transport/control.h encoders); the
// first byte of a fuzz_control input is its read size minus one.
void control_seeds() {
  stream::StreamHeader h;
  h.codec = stream::Codec::zstd;
  h.chunk_size = 4u << 20;
  for (std::size_t i = 0; i < h.session_id.size(); ++i) h.session_id[i] = static_cast<std::uint8_t>(0x11 * (i + 1));
  h.snapshot_guid = 0x1234567890abcdefULL;
  h.snapshot_name = "tank/pgdata@pgmigrate-7f3a-base";
  const std::string hex = transport::header_to_hex(h);
  if (auto back = transport::header_from_hex(hex); !back || !(*back == h)) {
    std::fprintf(stderr, "make_corpus: header_to_hex does not round-trip\n");
    ++failures;
  }
  stream::Trailer t;
  t.total_bytes = 123456789;
  t.chunk_count = 30;
  for (std::size_t i = 0; i < t.digest.size(); ++i) t.digest[i] = static_cast<std::uint8_t>(0xa0 + i);
  transport::ResumePoint point;
  point.header = h;
  point.chunks = 12;
  point.bytes = 50331648;
  point.digest = t.digest;
  nlohmann::json ready{{"type", "ready"}, {"socket", "/run/pgmigrate/lane-7f3a.sock"}, {"window", 16}, {"resumable_receive", true}};
  nlohmann::json ready_resume = ready;
  ready_resume["resume"] = transport::resume_to_json(point);
  nlohmann::json ready_tls = ready;
  ready_tls["tls"] = {{"port", 7433}, {"key", std::string(64, 'c')}};
  const std::vector<std::pair<std::string, std::string>> lines = {
      {"header", nlohmann::json{{"type", "header"}, {"hex", hex}, {"estimate", 1073741824}}.dump()},
      {"resume-token", nlohmann::json{{"type", "resume_token"}, {"token", "1-e604ea4bf-e0-789c63a2"}}.dump()},
      {"ready", ready.dump()},
      {"ready-resume", ready_resume.dump()},
      {"ready-tls", ready_tls.dump()},
      {"ready-pull", nlohmann::json{{"type", "ready"}, {"header", hex}, {"socket", "/tmp/l.sock"}, {"estimate", 0}}.dump()},
      {"start", nlohmann::json{{"type", "start"}, {"window", 16}}.dump()},
      {"ack", nlohmann::json{{"type", "ack"}, {"delivered", 7}}.dump()},
      {"trailer", transport::trailer_to_json(t).dump()},
      {"result", nlohmann::json{{"type", "result"},
                                {"received", "tank/pgdata@pgmigrate-7f3a-base"},
                                {"delivered_bytes", 123456789},
                                {"digest", stream::to_hex(t.digest)}}
                     .dump()},
      {"done", nlohmann::json{{"type", "done"}}.dump()},
      {"error", transport::message_from_status(Status(Errc::corrupt, "chunk 3: checksum mismatch")).dump()},
      {"header-hex-only", hex},
  };
  std::string session;
  for (const auto& [name, line] : lines) {
    write_text("fuzz_control", name, std::string(1, '\xff') + line + "\n");
    session += line + "\n";
  }
  // A whole push session, read 7 bytes at a time (lines split across reads).
  write_text("fuzz_control", "session-split-reads", std::string(1, '\x06') + session);
}

// Journal records as format_record writes them, and a .sums file as Journal::add_chunk does.
void journal_seeds() {
  journal::Record r;
  r.session = "11223344556677881122334455667788";
  r.role = "receive";
  r.state = "waiting";
  r.target = "tank/pgdata";
  r.snapshot = "tank/pgdata@pgmigrate-7f3a-base";
  r.snapshot_guid = 0x1234567890abcdefULL;
  r.chunk_size = 4u << 20;
  r.chunks = 12;
  r.bytes = 50331648;
  r.estimate = 1073741824;
  r.rate = 104857600.5;
  r.pid = 4242;
  r.socket = "/run/pgmigrate/lane-7f3a.sock";
  r.note = "the sender went away; waiting 10m for it to come back";
  r.started = 1764630000.25;
  r.updated = 1764630012.5;
  write_text("fuzz_journal", "record-receive", journal::format_record(r));
  r.role = "send";
  r.state = "failed";
  r.note = "on db2: chunk 3: checksum mismatch";
  write_text("fuzz_journal", "record-send-failed", journal::format_record(r));
  Bytes sums;
  for (std::uint32_t i = 0; i < 3; ++i) {
    const std::uint32_t raw_len = i == 2 ? 1234 : 4u << 20;
    const std::uint64_t checksum = 0x0123456789abcdefULL * (i + 1);
    for (int k = 0; k < 4; ++k) sums.push_back(static_cast<std::uint8_t>(raw_len >> (8 * k)));
    for (int k = 0; k < 8; ++k) sums.push_back(static_cast<std::uint8_t>(checksum >> (8 * k)));
  }
  write_file("fuzz_journal", "sums-3-chunks", sums);
  sums.resize(30);
  write_file("fuzz_journal", "sums-torn-entry", sums);
}

void lsn_seeds() {
  int i = 0;
  const std::string z(1, '\0');
  for (const std::string& s : {std::string("0/1500790"), std::string("16/B374D848"), std::string("FFFFFFFF/FFFFFFFF"), std::string("0/0"),
                               std::string("00000000/00000000"), std::string("1/b374d848"), std::string("123456789/0"), std::string("/1"),
                               std::string("0/1500718") + z + "0/1500790", std::string("0/1500790") + z + "0/1500718"})
    write_text("fuzz_lsn", std::to_string(i++), s);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus OUT_DIR\n");
    return 2;
  }
  out_root = argv[1];
  stream_seeds();
  record_seeds();
  unit_seeds();
  name_seeds();
  control_seeds();
  journal_seeds();
  lsn_seeds();
  std::printf("make_corpus: %zu files, %zu bytes in %s\n", files, total_size, out_root.c_str());
  if (failures > 0) {
    std::fprintf(stderr, "make_corpus: %d self-check failures\n", failures);
    return 1;
  }
  return 0;
}
