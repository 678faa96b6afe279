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
  zfs::Zfs zfs;
  auto caps = zfs.capabilities();
  if (!caps) return caps.status();
  auto exists = zfs.exists(spec.snapshot);
  if (!exists) return exists.status();
  if (!*exists) return Status(Errc::not_found, "snapshot '" + spec.snapshot + "' does not exist");
  auto args = zfs::send_args(spec.snapshot, spec.flags, *caps);
  if (!args) return args.status();
  for (const auto& base : {spec.flags.incremental, spec.flags.intermediate}) {
    if (!base) continue;
    auto full = zfs::resolve_incremental_base(*base, spec.snapshot);
    auto base_exists = zfs.exists(*full);
    if (!base_exists) return base_exists.status();
    if (!*base_exists) return Status(Errc::not_found, "incremental base snapshot '" + *full + "' does not exist");
  }
  auto guid = zfs.guid(spec.snapshot);
  if (!guid) return guid.status();
  src.snapshot_guid = *guid;
  src.snapshot_name = spec.snapshot;
  if (caps->send_dry_run_parsable) {
    if (auto est = zfs.estimate_send_size(*args)) src.estimated_size = *est;
  } else if (!spec.flags.incremental && !spec.flags.intermediate) {
    if (auto ref = zfs.referenced(spec.snapshot)) src.estimated_size = *ref;
  }
  ps.argv = {zfs.binary()};
  ps.argv.insert(ps.argv.end(), args->begin(), args->end());
  src.describe = join_command(ps.argv);
  auto p = Subprocess::spawn(ps);
  if (!p) return p.status();
  src.process = std::move(*p);
  return src;
}

}  // namespace pgm::source
