#include "cli/object_transfer.h"

#include <poll.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <optional>
#include <thread>

#include "cli/progress.h"
#include "common/units.h"
#include "objstore/describe.h"
#include "session/describe.h"
#include "session/objects.h"

namespace pgm::cli {
namespace {

// Cancels `cancel` once stdin ends (--until-stdin-closes), for as long as it lives. Under sshd,
// stdin ends when the near side closes it or its connection drops (a killed `migrate run`).
class StdinWatch {
 public:
  explicit StdinWatch(CancelToken& cancel) : thread_([this, &cancel] { watch(cancel); }) {}
  ~StdinWatch() {
    stop_.cancel(Status(Errc::interrupted, "the receive ended"));
    thread_.join();
  }
  StdinWatch(const StdinWatch&) = delete;
  StdinWatch& operator=(const StdinWatch&) = delete;

 private:
  void watch(CancelToken& cancel) {
    std::array<char, 256> buf{};
    while (true) {
      std::array<pollfd, 2> fds{{{0, POLLIN, 0}, {stop_.fd(), POLLIN, 0}}};
      if (::poll(fds.data(), fds.size(), -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents != 0) return;
      if (fds[0].revents == 0) continue;
      const ssize_t n = ::read(0, buf.data(), buf.size());
      if (n > 0 || (n < 0 && (errno == EINTR || errno == EAGAIN))) continue;
      cancel.cancel(Status(Errc::interrupted, "stdin closed: whoever started this receive (migrate run --bulk-via) went away"));
      return;
    }
  }
  CancelToken stop_;
  std::thread thread_;
};

}  // namespace

void add_object_options(CLI::App& cmd, ObjectCliOptions& o, bool with_follow) {
  cmd.add_option("--s3-endpoint", o.endpoint, "Object store endpoint URL (Ceph RGW, MinIO, R2...); requests are path-style");
  cmd.add_option("--s3-sse", o.sse, "x-amz-server-side-encryption for uploaded objects (AES256, aws:kms)");
  cmd.add_option("--s3-storage-class", o.storage_class, "x-amz-storage-class for uploaded objects");
  cmd.add_option("--s3-object-size", o.object_size, "Stream bytes per object (whole chunks)")->capture_default_str();
  cmd.add_option("--s3-concurrency", o.concurrency, "Object requests in flight")->capture_default_str();
  cmd.add_option("--s3-retry-time", o.retry_time, "Give up on a request that keeps failing after this long")->capture_default_str();
  if (with_follow) {
    cmd.add_flag("--follow", o.follow, "Read an upload while it runs: wait for each object until the manifest says the end");
    cmd.add_option("--follow-timeout", o.follow_timeout, "With --follow: give up when nothing new appears for this long")
        ->capture_default_str();
    cmd.add_flag("--until-stdin-closes", o.until_stdin_closes, "Stop when stdin closes (migrate run --bulk-via)")->group("");
  }
}

Result<objstore::ClientConfig> object_config(const ObjectCliOptions& o, const objstore::Location& at) {
  auto retry = parse_duration(o.retry_time);
  if (!retry) return retry.status().context("--s3-retry-time");
  // The environment is read before any thread of the transfer starts.
  return objstore::client_config(at, {.endpoint = o.endpoint, .retry_total = *retry, .sse = o.sse, .storage_class = o.storage_class},
                                 objstore::process_env, objstore::read_local_file);
}

Result<session::TransferSummary> upload_to_objects(const source::SourceSpec& spec, const session::TransferParams& t, const std::string& url,
                                                   const ObjectCliOptions& o, session::Observer& view, CancelToken& cancel,
                                                   objstore::UploadSummary* stored_out) {
  auto at = objstore::parse_location(url);
  if (!at) return at.status();
  auto cfg = object_config(o, *at);
  if (!cfg) return cfg.status();
  objstore::UploadOptions up;
  auto size = parse_size(o.object_size);
  if (!size) return size.status().context("--s3-object-size");
  up.object_bytes = *size;
  up.concurrency = o.concurrency;
  auto done = session::send_to_objects(spec, t, *at, *cfg, up, view, cancel);
  if (!done) return done.status();
  if (stored_out != nullptr) *stored_out = done->stored;
  return done->sent ? *done->sent : session::TransferSummary{};
}

Status send_to_objects(RunContext& ctx, const source::SourceSpec& spec, const session::TransferParams& t,
                       const session::TransferSettings& topts, const std::string& url, const ObjectCliOptions& o) {
  ProgressView view(parse_progress_mode(topts.progress, ctx.global.quiet));
  objstore::UploadSummary stored;
  auto sent = upload_to_objects(spec, t, url, o, view, ctx.cancel, &stored);
  if (!sent) return sent.status();
  if (stored.already_complete) {
    if (!ctx.global.quiet) std::fprintf(stderr, "%s already holds this stream, complete: nothing to upload\n", url.c_str());
    return Status::Ok();
  }
  if (!ctx.global.quiet) print_lines(stderr, session::summary_lines(*sent));
  if (!ctx.global.quiet) std::fprintf(stderr, "%s\n", objstore::stored_line(stored, url).c_str());
  return Status::Ok();
}

Status recv_from_objects(RunContext& ctx, const std::string& url, const sink::SinkSpec& spec, const session::TransferParams& t,
                         const session::TransferSettings& topts, const ObjectCliOptions& o) {
  auto at = objstore::parse_location(url);
  if (!at) return at.status();
  auto cfg = object_config(o, *at);
  if (!cfg) return cfg.status();
  objstore::DownloadOptions down;
  down.follow = o.follow;
  down.concurrency = o.concurrency;
  auto ft = parse_duration(o.follow_timeout);
  if (!ft) return ft.status().context("--follow-timeout");
  down.follow_timeout = *ft;
  std::optional<StdinWatch> watch;
  if (o.until_stdin_closes) watch.emplace(ctx.cancel);
  ProgressView view(parse_progress_mode(topts.progress, ctx.global.quiet));
  auto got = session::recv_from_objects(*at, *cfg, down, spec, t, view, ctx.cancel);
  if (!got) return got.status();
  if (!ctx.global.quiet) print_lines(stderr, session::summary_lines(*got));
  return Status::Ok();
}

}  // namespace pgm::cli
