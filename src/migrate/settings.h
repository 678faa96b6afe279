// `migrate run` and `migrate plan`'s settings as the command gives them (the text of its flags),
// and what they resolve to: the engine's Spec, the far host and the transfers' parameters.
// Only migrate has these flags, so a refusal here names the flag; cli/ registers the flags into
// these structs and binds the far host (its progress and metrics are the cli's to show).
#pragma once

#include <cstdint>
#include <string>

#include "pgmigrate/migrate.h"
#include "pgmigrate/session.h"
#include "pgmigrate/status.h"
#include "session/settings.h"
#include "zfs/flag_settings.h"

namespace pgm::migrate {

// The slot guard of a run (from the slot's creation to the switchover), and of `migrate watch`.
struct GuardSettings {
  std::string wal_warn, wal_limit, interval = "5s";
  bool drop_slot_on_limit = false;
};

struct RunSettings {
  std::string source, target, primary, standby_primary, standby, id, state_dir;
  int standby_port = 0;
  unsigned rounds = 1;
  std::string delta_target = "1G", max_lag = "16M", catchup_timeout = "30m", assume_rate = "100M";
  bool switchover = false, no_switchover = false;
  std::string fence = "stop", switch_timeout = "2m", primary_pgdata, stop_cmd, start_cmd, bindir, target_cluster;
  std::string pre_fence_hook, post_hook;
  bool keep_old_as_standby = false, keep_snapshots = false, abandon_logical_slots = false;
  GuardSettings guard;
  std::string bulk_via;  // s3://bucket/prefix or gs://...
  session::TransferSettings transfer;
  zfs::FlagSettings zfs;  // for every send and receive of the migration
  session::RemoteSettings remote;
};

// How migrate's work on this host (zfs, pg_ctl/pg_ctlcluster of the old primary, its
// pg_control) is reached when pgmigrate runs as a normal user: through the one privilege wrapper
// (common/elevation.h). --keep-old-as-standby writes the old primary's standby files into its
// data directory, which that wrapper does not do: refused before anything, in one line.
Result<std::string> near_privilege(const RunSettings& s);

// The engine's Spec, the far host and the transfers' parameters. Checks every setting a run
// needs up to its catch-up; resolve_window checks the rest.
struct Resolved {
  Spec spec;
  session::Remote remote;
  session::TransferParams transfer;
};
Result<Resolved> resolve_run(const RunSettings& s);

// The settings `run` reaches only at its catch-up and switchover steps: `plan` checks them too,
// so that a typo is refused days before the maintenance window, not in it.
Status resolve_window(const RunSettings& s, Spec& spec);

// --wal-warn, --wal-limit, --drop-slot-on-limit, --guard-interval into `spec`.
Status resolve_guard(const GuardSettings& g, Spec& spec);

// `migrate watch`: the guard of s.primary's migration slot, which needs a retention to act on.
Result<pg::GuardOptions> resolve_watch(const RunSettings& s);
// `migrate fallback`: how the target host reaches each server (--standby-primary, else
// --primary; --standby), the bound (--timeout) and the hooks.
Result<FallbackSpec> resolve_fallback(const RunSettings& s);
// `migrate far-log --tail SIZE`: between 1 byte and kMaxFarLogTail.
Result<std::uint64_t> resolve_far_log_tail(const std::string& text);

}  // namespace pgm::migrate
