#include "session/objects.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <thread>

#include "common/errno_text.h"
#include "common/io.h"
#include "common/process.h"
#include "common/stdin_watch.h"
#include "objstore/client.h"

namespace pgm::session {
namespace {

// A pipe whose ends are closed once, by whoever is done with them first.
struct Pipe {
  int read = -1, write = -1;
  ~Pipe() {
    close_read();
    close_write();
  }
  void close_read() {
    if (read >= 0) ::close(read);
    read = -1;
  }
  void close_write() {
    if (write >= 0) ::close(write);
    write = -1;
  }
};

Status make_pipe(Pipe& p) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Status(Errc::io, "pipe: " + errno_text(errno));
  p.read = fds[0];
  p.write = fds[1];
  return Status::Ok();
}

}  // namespace

Result<ObjectUpload> send_to_objects(const source::SourceSpec& spec, const TransferParams& t, const objstore::Location& at,
                                     const objstore::ClientConfig& config, const objstore::UploadOptions& up, Observer& observer,
                                     CancelToken& cancel) {
  Pipe pipe;
  PGM_RETURN_IF_ERROR(make_pipe(pipe));
  std::optional<Result<TransferSummary>> sent;
  // The sending half gets its own token: a pipeline that stops cancels its token, and that
  // must not read as a cancellation of the uploader (a signal still reaches both).
  CancelToken send_cancel;
  CancelLink link(cancel, send_cancel);
  std::thread sender([&] {
    sent = send_to_fd(spec, pipe.write, "the object uploader", t, observer, send_cancel);
    pipe.close_write();
  });
  FdReader reader(pipe.read, cancel);
  auto stored = objstore::upload_stream(reader, at, config, up, cancel);
  pipe.close_read();  // an uploader that stopped early ends the sender (EPIPE)
  sender.join();
  if (stored && stored->already_complete) return ObjectUpload{*stored, std::nullopt};
  // A stream that ended early is the sender's failure (zfs send); anything else is the store's.
  if (!*sent && (!stored.ok() && stored.status().code() == Errc::truncated)) return sent->status();
  if (!stored) return stored.status();
  if (!*sent) return sent->status();
  return ObjectUpload{*stored, **sent};
}

Result<TransferSummary> recv_from_objects(const objstore::Location& at, const objstore::ClientConfig& config,
                                          const objstore::DownloadOptions& down, const sink::SinkSpec& spec, const TransferParams& t,
                                          Observer& observer, CancelToken& cancel) {
  Pipe pipe;
  PGM_RETURN_IF_ERROR(make_pipe(pipe));
  Status fetched;
  CancelToken recv_cancel;  // as in send_to_objects: the receive pipeline cancels its own token
  CancelLink link(cancel, recv_cancel);
  std::thread downloader([&] {
    FdWriter writer(pipe.write, cancel);
    fetched = objstore::download_stream(writer, at, config, down, cancel);
    pipe.close_write();  // without the trailer the receive aborts: nothing unverified is kept
  });
  sink::SinkSpec into = spec;
  into.keep_partial = false;  // a re-run reads the store from the first object (sink.h)
  auto got = recv_from_fd(pipe.read, "the object store", into, t, observer, recv_cancel);
  pipe.close_read();  // a receive that failed first ends the downloader (EPIPE)
  downloader.join();
  // The store's own failure (a missing or corrupted object, a foreign manifest) names the cause;
  // a write error of the downloader is only the echo of a failed receive.
  if (!fetched.ok() && fetched.code() != Errc::io) return fetched;
  if (!got) return got.status();
  if (!fetched.ok()) return fetched;
  return got;
}

Result<TransferSummary> upload_to_objects(const source::SourceSpec& spec, const TransferParams& t, const std::string& url,
                                          const objstore::ObjectSettings& settings, Observer& observer, CancelToken& cancel,
                                          objstore::UploadSummary* stored_out) {
  auto store = objstore::resolve_store(url, settings);
  if (!store) return store.status();
  auto up = objstore::upload_options(settings);
  if (!up) return up.status();
  auto done = send_to_objects(spec, t, store->at, store->config, *up, observer, cancel);
  if (!done) return done.status();
  if (stored_out != nullptr) *stored_out = done->stored;
  return done->sent ? *done->sent : TransferSummary{};
}

Result<TransferSummary> recv_from_objects(const std::string& url, const objstore::ObjectSettings& settings, const sink::SinkSpec& spec,
                                          const TransferParams& t, Observer& observer, CancelToken& cancel) {
  auto store = objstore::resolve_store(url, settings);
  if (!store) return store.status();
  auto down = objstore::download_options(settings);
  if (!down) return down.status();
  std::optional<StdinWatch> watch;
  if (settings.until_stdin_closes) watch.emplace(cancel);
  return recv_from_objects(store->at, store->config, *down, spec, t, observer, cancel);
}

std::string far_object_flags(const objstore::ObjectSettings& settings) {
  std::string flags;
  if (!settings.endpoint.empty()) flags += " --s3-endpoint " + shell_quote(settings.endpoint);
  return flags + " --s3-concurrency " + std::to_string(settings.concurrency) + " --s3-retry-time " + shell_quote(settings.retry_time);
}

Status probe_objects_here(const objstore::ObjectSettings& settings, const std::string& url, CancelToken& cancel) {
  PGM_ASSIGN_OR_RETURN(auto at, objstore::parse_location(url));
  auto cfg = objstore::object_config(settings, at);
  if (!cfg) return cfg.status().context("on this host");
  objstore::Client client(*cfg, at.bucket, cancel);
  return client.list(at.prefix.empty() ? "" : at.prefix + "/").status().context("from this host");
}

}  // namespace pgm::session
