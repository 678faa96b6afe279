#include "source/source.h"

namespace pgm::source {

Status Source::finish() {
  int st = process->wait();
  return process->check_exit(st);
}

Result<Source> open_source(const SourceSpec& spec) {
  Source src;
  ProcessSpec ps;
  ps.pipe_stdout = true;
  if (!spec.send_cmd.empty()) {
    src.snapshot_name = spec.snapshot;
    src.describe = spec.send_cmd;
    auto p = Subprocess::spawn_shell(spec.send_cmd, ps);
    if (!p) return p.status();
    src.process = std::move(*p);
    return src;
  }
  auto snap = zfs::split_snapshot(spec.snapshot);
  if (!snap) return snap.status();
  const zfs::Zfs zfs = zfs::Zfs::with_wrapper(spec.privilege_wrapper);
  auto caps = zfs.capabilities();
  if (!caps) return caps.status();
  auto exists = zfs.exists(spec.snapshot);
  if (!exists) return exists.status();
  if (!*exists) return Status(Errc::not_found, "snapshot '" + spec.snapshot + "' does not exist");
  auto args = zfs::send_args(spec.snapshot, spec.flags, *caps);
  if (!args) return args.status();
  if (!spec.resume_token.empty()) {
    // The receiving side kept a partial receive (OpenZFS zfs receive -s): send only the rest.
    if (!caps->send_resume_token)
      return Status(Errc::unsupported,
                    "the target holds a partially received stream, but this host's zfs cannot resume a send "
                    "(no 'zfs send -t'); discard it on the target with 'zfs receive -A' and start over");
    auto info = zfs.describe_token(spec.resume_token);
    if (!info) return info.status();
    auto guid = zfs.guid(spec.snapshot);
    if (!guid) return guid.status();
    if (info->toname != spec.snapshot || (info->toguid != 0 && info->toguid != *guid))
      return Status(Errc::exists, "the target holds a partial receive of '" + info->toname + "', not '" + spec.snapshot +
                                      "'; finish that one, or discard it on the target with 'zfs receive -A'");
    args = std::vector<std::string>{"send", "-t", spec.resume_token};
  }
  for (const auto& base : {spec.flags.incremental, spec.flags.intermediate}) {
    if (!base) continue;
    auto full = zfs::resolve_incremental_base(*base, spec.snapshot);
    auto base_exists = zfs.exists(*full);
    if (!base_exists) return base_exists.status();
    if (!*base_exists)
      return Status(Errc::not_found, std::string("incremental base ") + (zfs::is_bookmark(*full) ? "bookmark" : "snapshot") + " '" + *full +
                                         "' does not exist");
  }
  auto guid = zfs.guid(spec.snapshot);
  if (!guid) return guid.status();
  src.snapshot_guid = *guid;
  src.snapshot_name = spec.snapshot;
  if (!spec.resume_token.empty()) {
    // A resumed stream is the rest of the original: no size estimate.
  } else if (caps->send_dry_run_parsable) {
    if (auto est = zfs.estimate_send_size(*args)) src.estimated_size = *est;
  } else if (!spec.flags.incremental && !spec.flags.intermediate) {
    if (auto ref = zfs.referenced(spec.snapshot)) src.estimated_size = *ref;
  }
  ps.argv = zfs.argv(*args);
  src.describe = join_command(ps.argv);
  auto p = Subprocess::spawn(ps);
  if (!p) return p.status();
  src.process = std::move(*p);
  return src;
}

}  // namespace pgm::source
