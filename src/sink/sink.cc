#include "sink/sink.h"

#include "common/units.h"

namespace pgm::sink {

Result<Sink> open_sink(const SinkSpec& spec) {
  Sink sink;
  sink.spec = spec;
  ProcessSpec ps;
  ps.pipe_stdin = true;
  ps.null_stdout = true;
  if (!spec.recv_cmd.empty()) {
    sink.describe = spec.recv_cmd;
    ps.null_stdout = false;
    auto p = Subprocess::spawn_shell(spec.recv_cmd, ps);
    if (!p) return p.status();
    sink.process = std::move(*p);
    return sink;
  }
  std::string dataset = spec.target.substr(0, spec.target.find('@'));
  if (spec.target.find('@') != std::string::npos) {
    PGM_RETURN_IF_ERROR(zfs::validate_snapshot(spec.target));
  } else {
    PGM_RETURN_IF_ERROR(zfs::validate_dataset(spec.target));
  }
  const zfs::Zfs zfs = zfs::Zfs::with_wrapper(spec.privilege_wrapper);
  auto caps = zfs.capabilities();
  if (!caps) return caps.status();
  const std::string pool = dataset.substr(0, dataset.find('/'));
  auto pool_exists = zfs.exists(pool);
  if (!pool_exists) return pool_exists.status();
  if (!*pool_exists) return Status(Errc::not_found, "target pool '" + pool + "' does not exist");
  zfs::RecvFlags flags = spec.flags;
  // Where ZFS can keep an interrupted receive (OpenZFS), always ask it to: a crash of either
  // host then resumes from the target's receive_resume_token instead of starting over.
  flags.resumable = caps->recv_resumable && spec.keep_partial;
  sink.resumable = flags.resumable;
  auto args = zfs::recv_args(dataset, flags, *caps);
  if (!args) return args.status();
  if (spec.target.find('@') != std::string::npos) args->back() = spec.target;
  ps.argv = zfs.argv(*args);
  sink.describe = join_command(ps.argv);
  auto p = Subprocess::spawn(ps);
  if (!p) return p.status();
  sink.process = std::move(*p);
  return sink;
}

Status classify_recv_failure(const std::string& target, Status failure) {
  const std::string& m = failure.message();
  if (m.find("out of space") != std::string::npos || m.find("No space left") != std::string::npos ||
      m.find("ENOSPC") != std::string::npos) {
    const std::string pool = target.substr(0, target.find('/'));
    zfs::Zfs zfs;
    std::string detail;
    if (auto avail = zfs.get("available", pool)) detail = " (" + format_bytes(std::strtod(avail->c_str(), nullptr)) + " available)";
    return Status(Errc::no_space, "target out of space: pool '" + pool + "'" + detail + " cannot hold the stream; " + m);
  }
  if (m.find("dataset is busy") != std::string::npos)
    return Status(Errc::child_failed, m + " (another receive into it is running or still being aborted: retry shortly)");
  if (m.find("exists") != std::string::npos && m.find("-F") == std::string::npos)
    return Status(Errc::exists, m + " (the target exists: pick another name, or pass -F to roll it back and overwrite)");
  return failure;
}

void Sink::abort() {
  if (!process) return;
  process->stdin_fd().reset();
  process->terminate(3000);
  process->wait();
}

Status Sink::abort_with(Status why) {
  abort();
  const bool consumer_side = why.message().find("consumer closed") != std::string::npos || why.code() == Errc::no_space;
  if (consumer_side && process) {
    Status failed = process->check_exit(process->wait());
    if (!failed.ok()) return classify_recv_failure(spec.target, failed);
  }
  return why;
}

Result<std::string> Sink::finish(const stream::StreamHeader& header) {
  process->stdin_fd().reset();
  int st = process->wait();
  Status s = process->check_exit(st);
  if (!s.ok()) return classify_recv_failure(spec.target, s);
  const std::string received = received_snapshot_name(spec, header);
  if (received.empty() || header.snapshot_guid == 0) return received;
  const zfs::Zfs zfs = zfs::Zfs::with_wrapper(spec.privilege_wrapper);
  auto guid = zfs.guid(received);
  if (!guid)
    return Status(Errc::corrupt, "verification failed: received snapshot '" + received + "' not found: " + guid.status().message());
  if (*guid != header.snapshot_guid)
    return Status(Errc::corrupt, "verification failed: '" + received + "' has guid " + std::to_string(*guid) + ", the source's is " +
                                     std::to_string(header.snapshot_guid));
  return received;
}

std::string received_snapshot_name(const SinkSpec& spec, const stream::StreamHeader& header) {
  if (!spec.recv_cmd.empty() || spec.target.empty() || header.snapshot_name.empty()) return {};
  // zfs receive names the new snapshot after the source's unless the target names one.
  if (spec.target.find('@') != std::string::npos) return spec.target;
  auto at = header.snapshot_name.find('@');
  if (at == std::string::npos) return {};
  return spec.target + header.snapshot_name.substr(at);
}

std::optional<std::string> already_received(const SinkSpec& spec, const stream::StreamHeader& header) {
  const std::string name = received_snapshot_name(spec, header);
  if (name.empty() || header.snapshot_guid == 0) return std::nullopt;
  const zfs::Zfs zfs = zfs::Zfs::with_wrapper(spec.privilege_wrapper);
  // A partial receive waits to be resumed there (OpenZFS): that is the answer, not this.
  if (!zfs.resume_token(name.substr(0, name.find('@'))).empty()) return std::nullopt;
  auto guid = zfs.guid(name);
  if (!guid || *guid != header.snapshot_guid) return std::nullopt;
  // Only as the newest snapshot: a target that has moved on since (a later increment) is
  // not what re-sending this stream would produce, and zfs's own refusal says so better.
  auto snaps = zfs.snapshots(name.substr(0, name.find('@')));
  if (!snaps || snaps->empty() || snaps->back() != name) return std::nullopt;
  return name;
}

}  // namespace pgm::sink
