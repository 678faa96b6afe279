// download_stream: the stored stream back as bytes, in order, for recv_from_fd. N fetchers GET
// objects ahead of the writer (fetcher k takes objects k, k+N, ...; none runs more than N
// objects ahead), so memory stays within N + 1 objects. With follow, a missing object is polled
// for until the manifest says the stream has ended, or nothing new appeared for follow_timeout.
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "objstore/client.h"
#include "objstore/relay.h"
#include "stream/format.h"

namespace pgm::objstore {
namespace {

using Clock = std::chrono::steady_clock;

class Downloader {
 public:
  Downloader(const Location& at, const ClientConfig& config, const DownloadOptions& opts, const CancelToken& cancel, std::string header_hex)
      : at_(at), config_(config), opts_(opts), cancel_(cancel), header_hex_(std::move(header_hex)), progress_(Clock::now()) {}

  // The manifest, if there is one yet; checks that it belongs to this upload's header.
  Status refresh_manifest(Client& client) {
    auto got = client.get(manifest_key(at_));
    if (!got) return got.status();
    if (!*got) return Status::Ok();
    std::string text((*got)->body.begin(), (*got)->body.end());
    auto m = decode_manifest(text);
    if (!m) return m.status().context(at_.url() + "/manifest.json");
    if (m->header_hex != header_hex_)
      return Status(Errc::corrupt, at_.url() + "/manifest.json belongs to another upload (session " + stream::to_hex(m->header.session_id) +
                                       ", snapshot " + m->header.snapshot_name + ") than its header: refusing to read it");
    std::lock_guard<std::mutex> lock(mu_);
    manifest_ = *m;
    cv_.notify_all();
    return Status::Ok();
  }

  void fetcher(unsigned k, unsigned n) {
    Client client(config_, at_.bucket, cancel_);
    for (std::uint64_t i = k;; i += n) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        while (!stop_ && i >= next_ + n) cv_.wait_for(lock, std::chrono::milliseconds(200));
        if (stop_) return;
      }
      while (true) {
        auto got = client.get(data_key(at_, i));
        if (!got) return fail(got.status());
        if (*got) {
          Status s = check(**got, i);
          if (!s.ok()) return fail(s);
          std::lock_guard<std::mutex> lock(mu_);
          ready_.emplace(i, std::move(**got));
          cv_.notify_all();
          break;
        }
        std::optional<Manifest> m = manifest();
        if (!m && opts_.follow) {
          Status s = refresh_manifest(client);
          if (!s.ok()) return fail(s);
          m = manifest();
        }
        if (m && i >= m->objects) return;
        if (m)
          return fail(Status(Errc::not_found, "object " + data_key(at_, i) + " is missing (the manifest lists " +
                                                  std::to_string(m->objects) + "): nothing after it was received"));
        if (!opts_.follow) return fail(Status(Errc::not_found, "object " + data_key(at_, i) + " is missing"));
        if (Clock::now() - last_progress() > opts_.follow_timeout)
          return fail(Status(Errc::timeout, "following " + at_.url() + ": no object " + data_key(at_, i) + " and no manifest for " +
                                                std::to_string(opts_.follow_timeout.count() / 1000) + " s (--follow-timeout)"));
        if (!cancel_.wait_for(opts_.poll)) return fail(cancel_.reason());
      }
    }
  }

  // The next object in order, nullopt at the end of the stream; an error stops everything.
  Result<std::optional<Object>> take(std::uint64_t i) {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      if (!error_.ok()) return error_;
      if (cancel_.cancelled()) return cancel_.reason();
      auto it = ready_.find(i);
      if (it != ready_.end()) {
        Object o = std::move(it->second);
        ready_.erase(it);
        next_ = i + 1;
        progress_ = Clock::now();
        cv_.notify_all();
        return std::optional<Object>(std::move(o));
      }
      if (manifest_ && i >= manifest_->objects) return std::optional<Object>();
      cv_.wait_for(lock, std::chrono::milliseconds(200));
    }
  }

  void stop() {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  std::optional<Manifest> manifest() {
    std::lock_guard<std::mutex> lock(mu_);
    return manifest_;
  }

 private:
  Status check(const Object& o, std::uint64_t i) {
    std::string key = data_key(at_, i);
    auto it = o.meta.find("pgm-xxh3");
    if (it == o.meta.end()) return Status(Errc::corrupt, "object " + key + " has no pgm-xxh3 metadata: it was not written by pgmigrate");
    if (it->second != std::to_string(stream::chunk_checksum(o.body)))
      return Status(Errc::corrupt, "object " + key + ": checksum mismatch (its bytes changed in the store); nothing of it was received");
    return Status::Ok();
  }
  void fail(const Status& s) {
    std::lock_guard<std::mutex> lock(mu_);
    if (error_.ok()) error_ = s;
    stop_ = true;
    cv_.notify_all();
  }
  Clock::time_point last_progress() {
    std::lock_guard<std::mutex> lock(mu_);
    return progress_;
  }

  const Location& at_;
  const ClientConfig& config_;
  const DownloadOptions& opts_;
  const CancelToken& cancel_;
  std::string header_hex_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::uint64_t, Object> ready_;
  std::uint64_t next_ = 0;
  std::optional<Manifest> manifest_;
  Status error_;
  bool stop_ = false;
  Clock::time_point progress_;
};

// The header object; with follow, waits for it to appear.
Result<std::vector<std::uint8_t>> fetch_header(Client& client, const Location& at, const DownloadOptions& opts, const CancelToken& cancel) {
  auto start = Clock::now();
  while (true) {
    auto got = client.get(header_key(at));
    if (!got) return got.status();
    if (*got) return std::move((*got)->body);
    if (!opts.follow)
      return Result<std::vector<std::uint8_t>>(Errc::not_found, "no pgmigrate upload at " + at.url() + " (no " + header_key(at) +
                                                                    "); with --follow, recv waits for one to start");
    if (Clock::now() - start > opts.follow_timeout)
      return Result<std::vector<std::uint8_t>>(Errc::timeout, "following " + at.url() + ": no upload started within " +
                                                                  std::to_string(opts.follow_timeout.count() / 1000) + " s");
    if (!cancel.wait_for(opts.poll)) return cancel.reason();
  }
}

}  // namespace

Status download_stream(ByteWriter& out, const Location& at, const ClientConfig& config, const DownloadOptions& opts,
                       const CancelToken& cancel) {
  Client client(config, at.bucket, cancel);
  auto header = fetch_header(client, at, opts, cancel);
  if (!header) return header.status();
  auto decoded = stream::decode_header(*header);
  if (!decoded) return decoded.status().context(at.url() + "/header is not a pgmigrate stream header");
  Downloader d(at, config, opts, cancel, stream::to_hex(*header));
  Status s = d.refresh_manifest(client);
  if (!s.ok()) return s;
  if (!d.manifest() && !opts.follow)
    return Status(Errc::truncated, "the upload at " + at.url() +
                                       " has no manifest yet (not finished, or its sender was killed): "
                                       "re-run the send, or recv with --follow to read it as it arrives");
  s = out.write_all(*header);
  if (!s.ok()) return s;
  unsigned n = std::max(1u, opts.concurrency);
  std::vector<std::thread> fetchers;
  for (unsigned k = 0; k < n; ++k) fetchers.emplace_back([&d, k, n] { d.fetcher(k, n); });
  Status result;
  for (std::uint64_t i = 0;; ++i) {
    auto o = d.take(i);
    if (!o) {
      result = o.status();
      break;
    }
    if (!*o) break;
    result = out.write_all((*o)->body);
    if (!result.ok()) break;
  }
  d.stop();
  for (auto& t : fetchers) t.join();
  if (!result.ok()) return result;
  auto m = d.manifest();
  if (!m) return Status(Errc::internal, "download ended without a manifest");
  auto rec = stream::encode_trailer(m->trailer);
  return out.write_all(rec);
}

}  // namespace pgm::objstore
