#include "objstore/relay.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "common/bounded_queue.h"
#include "objstore/client.h"
#include "stream/reader.h"

namespace pgm::objstore {

using nlohmann::json;

namespace {

constexpr const char* kManifestFormat = "pgmigrate-objects-1";

std::string base(const Location& at) { return at.prefix.empty() ? "" : at.prefix + "/"; }

std::span<const std::uint8_t> bytes_of(const std::string& s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

std::string digest_hex(const stream::StreamDigest& d) {
  auto v = d.finish();
  return stream::to_hex(v);
}

// One object being filled or uploaded.
struct Pending {
  std::uint64_t index = 0;
  std::uint64_t first = 0;
  std::uint64_t chunks = 0;
  std::vector<std::uint8_t> body;
  std::string sums;
};

Metadata meta_of(const Pending& p) {
  return {{"pgm-first", std::to_string(p.first)},
          {"pgm-chunks", std::to_string(p.chunks)},
          {"pgm-sums", p.sums},
          {"pgm-xxh3", std::to_string(stream::chunk_checksum(p.body))}};
}

// The N uploaders: PUTs in parallel from a queue of one; the first failure stops the rest.
class Uploaders {
 public:
  Uploaders(const ClientConfig& config, const Location& at, unsigned n, const CancelToken& cancel) : queue_(1) {
    for (unsigned i = 0; i < n; ++i) {
      threads_.emplace_back([this, &config, &at, &cancel] {
        Client client(config, at.bucket, cancel);
        while (auto p = queue_.pop()) {
          Status s = client.put(data_key(at, p->index), p->body, meta_of(*p));
          if (!s.ok()) {
            fail(s);
            return;
          }
          uploaded_.fetch_add(1);
          bytes_.fetch_add(p->body.size());
        }
      });
    }
  }
  ~Uploaders() { (void)finish(); }
  bool push(Pending&& p) { return queue_.push(std::move(p)); }
  Status finish() {
    queue_.close();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
  }
  Status error() {
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
  }
  std::uint64_t uploaded() const { return uploaded_.load(); }
  std::uint64_t bytes() const { return bytes_.load(); }

 private:
  void fail(const Status& s) {
    std::lock_guard<std::mutex> lock(mu_);
    if (error_.ok()) error_ = s;
    queue_.close();
  }
  BoundedQueue<Pending> queue_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  Status error_;
  std::atomic<std::uint64_t> uploaded_{0}, bytes_{0};
};

// A stored header describes the same stream as a regenerated one if everything but the
// session id (random per run) matches.
bool same_stream(const stream::StreamHeader& a, const stream::StreamHeader& b) {
  return a.codec == b.codec && a.chunk_size == b.chunk_size && a.snapshot_guid == b.snapshot_guid && a.snapshot_name == b.snapshot_name;
}

Result<stream::StreamHeader> decode_stored_header(const std::vector<std::uint8_t>& bytes, const std::string& where) {
  auto h = stream::decode_header(bytes);
  if (!h) return h.status().context(where + " is not a pgmigrate stream header");
  return h;
}

}  // namespace

std::string header_key(const Location& at) { return base(at) + "header"; }
std::string manifest_key(const Location& at) { return base(at) + "manifest.json"; }
std::string data_key(const Location& at, std::uint64_t index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%012llu", static_cast<unsigned long long>(index));
  return base(at) + "data/" + buf;
}

std::string encode_manifest(const Manifest& m) {
  json j;
  j["format"] = kManifestFormat;
  j["header"] = m.header_hex;
  j["session"] = stream::to_hex(m.header.session_id);
  j["snapshot"] = m.header.snapshot_name;
  j["guid"] = m.header.snapshot_guid;
  j["chunk_size"] = m.header.chunk_size;
  j["chunks_per_object"] = m.chunks_per_object;
  j["objects"] = m.objects;
  j["chunks"] = m.trailer.chunk_count;
  j["total_bytes"] = m.trailer.total_bytes;
  j["digest"] = stream::to_hex(m.trailer.digest);
  return j.dump(2) + "\n";
}

Result<Manifest> decode_manifest(std::string_view text) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("format", "") != kManifestFormat)
    return Result<Manifest>(Errc::corrupt, "not a pgmigrate manifest (" + std::string(kManifestFormat) + ")");
  Manifest m;
  try {
    m.header_hex = j.at("header").get<std::string>();
    m.chunks_per_object = j.at("chunks_per_object").get<std::uint64_t>();
    m.objects = j.at("objects").get<std::uint64_t>();
    m.trailer.chunk_count = j.at("chunks").get<std::uint64_t>();
    m.trailer.total_bytes = j.at("total_bytes").get<std::uint64_t>();
    auto d = stream::from_hex(j.at("digest").get<std::string>(), 16);
    if (!d || d->size() != 16) return Result<Manifest>(Errc::corrupt, "manifest: bad digest");
    std::copy(d->begin(), d->end(), m.trailer.digest.begin());
  } catch (const json::exception& e) {
    return Result<Manifest>(Errc::corrupt, std::string("manifest: ") + e.what());
  }
  auto hb = stream::from_hex(m.header_hex, std::size_t{64} * 1024);
  if (!hb) return Result<Manifest>(Errc::corrupt, "manifest: bad header");
  auto h = stream::decode_header(*hb);
  if (!h) return h.status().context("manifest");
  m.header = *h;
  return m;
}

Result<UploadSummary> upload_stream(ByteReader& in, const Location& at, const ClientConfig& config, const UploadOptions& opts,
                                    const CancelToken& cancel) {
  stream::StreamReader reader(in, true);
  auto header = reader.read_header();
  if (!header) return header.status();
  Client client(config, at.bucket, cancel);
  UploadSummary sum;
  std::uint64_t per_object = std::max<std::uint64_t>(1, opts.object_bytes / header->chunk_size);

  // What a killed run left: its header (kept, with its session id) and its data objects.
  auto existing = client.list(base(at));
  if (!existing) return existing.status();
  std::vector<std::string> keys;
  for (const auto& o : *existing) keys.push_back(o.key);
  std::sort(keys.begin(), keys.end());
  auto has = [&](const std::string& k) { return std::binary_search(keys.begin(), keys.end(), k); };
  std::string header_hex = stream::to_hex(bytes_of(stream::encode_header(*header)));
  if (has(header_key(at))) {
    auto stored = client.get(header_key(at));
    if (!stored) return stored.status();
    if (!*stored) return Result<UploadSummary>(Errc::not_found, header_key(at) + " vanished while listing");
    auto h = decode_stored_header((*stored)->body, at.url() + "/header");
    if (!h) return h.status();
    if (!same_stream(*h, *header))
      return Result<UploadSummary>(Errc::exists, at.url() + " holds another stream (" + h->snapshot_name + ", guid " +
                                                     std::to_string(h->snapshot_guid) + "): remove it with 'pgmigrate objects rm " +
                                                     at.url() + "' or choose another prefix");
    if (has(manifest_key(at))) {
      sum.already_complete = true;
      return sum;
    }
    header_hex = stream::to_hex((*stored)->body);
  } else {
    std::string enc = stream::encode_header(*header);
    Status s = client.put(header_key(at), bytes_of(enc), {{"pgm-session", stream::to_hex(header->session_id)}});
    if (!s.ok()) return s;
  }

  Uploaders up(config, at, std::max(1u, opts.concurrency), cancel);
  stream::StreamDigest digest;
  Pending cur;
  auto group_digest = std::make_unique<stream::StreamDigest>();
  auto flush = [&]() -> Status {
    cur.sums = digest_hex(*group_digest);
    group_digest = std::make_unique<stream::StreamDigest>();
    std::uint64_t index = cur.index;
    std::string key = data_key(at, index);
    if (has(key)) {
      auto meta = client.head(key);
      if (!meta) return meta.status();
      if (*meta && (**meta)["pgm-sums"] == cur.sums && (**meta)["pgm-chunks"] == std::to_string(cur.chunks)) {
        ++sum.kept;
        cur = Pending{index + 1, cur.first + cur.chunks, 0, {}, {}};
        return Status::Ok();
      }
    }
    std::uint64_t next_first = cur.first + cur.chunks;
    if (!up.push(std::move(cur))) return up.error();
    cur = Pending{index + 1, next_first, 0, {}, {}};
    return Status::Ok();
  };
  while (true) {
    auto item = reader.next();
    if (!item) return item.status();
    if (auto* f = std::get_if<stream::Frame>(&*item)) {
      auto rec = stream::encode_frame_header(f->header);
      cur.body.insert(cur.body.end(), rec.begin(), rec.end());
      cur.body.insert(cur.body.end(), f->payload.data(), f->payload.data() + f->payload.size());
      ++cur.chunks;
      digest.add(f->header.seq, f->header.raw_len, f->header.checksum);
      group_digest->add(f->header.seq, f->header.raw_len, f->header.checksum);
      if (cur.chunks == per_object) {
        Status s = flush();
        if (!s.ok()) return s;
      }
      continue;
    }
    auto trailer = std::get<stream::Trailer>(*item);
    if (cur.chunks > 0) {
      Status s = flush();
      if (!s.ok()) return s;
    }
    Status s = up.finish();
    if (!s.ok()) return s;
    if (trailer.digest != digest.finish()) return Result<UploadSummary>(Errc::corrupt, "the stream's trailer does not match its chunks");
    Manifest m;
    m.header_hex = header_hex;
    m.header = *header;
    m.chunks_per_object = per_object;
    m.objects = cur.index;
    m.trailer = trailer;
    // Last: a reader takes an upload for complete only once this exists.
    s = client.put(manifest_key(at), bytes_of(encode_manifest(m)), {});
    if (!s.ok()) return s;
    sum.objects = m.objects;
    sum.uploaded = up.uploaded();
    sum.bytes = up.bytes();
    return sum;
  }
}

}  // namespace pgm::objstore
