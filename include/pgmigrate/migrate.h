// `pgmigrate migrate`'s engine: the whole move of a Postgres data directory on ZFS to another
// host as one journaled plan, ordered so that the replication slot exists only for the last,
// small increment:
//
//   preflight → bulk (snapshot+hold, full send, no slot) → rounds (incrementals until small)
//   → final (slot, CHECKPOINT, snapshot, incremental) → standby (on the target, over SSH)
//   → catchup (lag under max_lag) → switchover (when asked) → cleanup
//
// Each step is idempotent and recorded in <state>/migrations/<id>.json before and after it
// runs, so a run again (after a crash, SIGKILL, or Ctrl-C) continues at the step that was
// interrupted without a second slot or snapshot (steps.h); transfers resume through the far
// half's journal. Nothing here writes to the source dataset except the migration's own
// snapshots and holds. The engine prints nothing: it reports through an Observer, and the
// caller (cli/cmd_migrate.cc) prints what migrate/describe.h words.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/cancel.h"
#include "migrate/remote.h"
#include "migrate/state.h"
#include "migrate/steps.h"
#include "pg/debian_cluster.h"
#include "pg/slot.h"
#include "pg/switchover.h"
#include "pgmigrate/status.h"
#include "zfs/zfs.h"

namespace pgm::migrate {

// What to migrate and how: flags already parsed and checked by the caller.
struct Spec {
  std::string source;            // POOL/FS here
  std::string target;            // [user@]host:POOL/FS, as the state file names it
  std::string target_dataset;    // POOL/FS there
  std::string primary;           // conninfo of the primary from here
  std::string standby_conninfo;  // how this host reaches the new server
  std::string standby_primary;   // how the new server reaches the primary
  std::string state_dir, id, bindir;
  int standby_port = 0;
  unsigned rounds = 1;
  std::uint64_t delta_target = 0, max_lag = 0;
  std::chrono::milliseconds catchup_timeout{0}, switch_timeout{0};
  pg::Fence fence = pg::Fence::stop;
  std::string primary_pgdata, stop_cmd, start_cmd, pre_fence_hook, post_hook;
  bool keep_snapshots = false;
  // --bulk-via URL: the base snapshot goes through object storage, under URL/<its snapshot
  // name> (uploaded from here, downloaded by the target as it arrives); "" sends it over SSH.
  std::string bulk_via;
  bool keep_old_as_standby = false;    // pg::SwitchoverOptions::keep_old_as_standby
  bool abandon_logical_slots = false;  // switch over although logical slots stay behind
  std::string target_cluster;          // VER/NAME for a Debian primary's new cluster (default: the source's)
  // The slot guard (--wal-warn, --wal-limit, --drop-slot-on-limit): from the slot's creation up
  // to the switchover, a trip ends the run. None when both sizes are 0.
  std::uint64_t wal_warn = 0, wal_limit = 0;
  bool drop_slot_on_limit = false;
  std::chrono::milliseconds guard_interval{std::chrono::seconds(5)};
  // The OpenZFS pass-through flags (--raw, -c, -L, -e, -u, --recv-set, --recv-exclude) of every
  // send and receive of the migration (only those fields are used), and their words as the
  // state records them: once the bulk send began, a later run must give the same ones (a raw
  // increment into a dataset received decrypted fails; a property must not change between sends).
  zfs::SendFlags send_flags;
  zfs::RecvFlags recv_flags;
  std::vector<std::string> zfs_flags;
  // How this host's privileged work is reached when pgmigrate runs here as a normal user
  // ("sudo -n", common/elevation.h): every zfs command, pg_ctl/pg_ctlcluster of the old
  // primary, reading its global/pg_control. "" for root or with --no-sudo.
  std::string privilege_wrapper;
  RunOptions run;
};

// How the engine reports. Called from the thread that runs the engine.
class Observer {
 public:
  Observer() = default;
  Observer(const Observer&) = delete;
  Observer& operator=(const Observer&) = delete;
  Observer(Observer&&) = delete;
  Observer& operator=(Observer&&) = delete;
  virtual ~Observer() = default;
  // A line of progress in `step`. The slot guard's warnings come from its own thread.
  virtual void say(std::string_view step, const std::string& text) = 0;
  // Before a step runs (after the preflight); an error stops the run there.
  virtual Status before_step(std::string_view /*step*/) { return Status::Ok(); }
};

// A primary that is a Debian/Ubuntu cluster (its config_file is /etc/postgresql/VER/NAME/...):
// the target becomes a cluster too, its configuration made from the source's (pg/debian_cluster.h).
struct DebianPlan {
  pg::ClusterId source, target;
  std::string bundle_json;      // validated as the target will read it; sent on --options-stdin's line
  std::string target_pgdata;    // as plan predicts it (the standby step uses the received one)
  pg::RenderedConfig rendered;  // rendered here: the target renders again and reports its own warnings
};

// What the preflight found (and `plan` prints).
struct Preflight {  // NOLINT(bugprone-exception-escape): nlohmann::json's members may throw
  std::uint64_t referenced = 0;
  // The data before ZFS compression: what the stream carries, and what the target holds if it
  // does not compress (zfs::logical_size), with how it was found.
  std::uint64_t logical = 0;
  std::string logical_basis;
  std::string mountpoint, data_directory, relative_pgdata;
  // The source dataset and its descendants, parent first: the tree every snapshot (zfs snapshot
  // -r) and every send covers. One entry for a cluster on a single dataset.
  std::vector<std::string> datasets;
  int pg_major = 0;
  nlohmann::json target;  // the far probe
  std::optional<DebianPlan> debian;
  std::vector<std::string> notes;
};

// Checks everything a run needs, changing nothing. `state`: the migration being resumed, if any.
Result<Preflight> preflight(const Spec& spec, Remote& remote, CancelToken& cancel, const StateFile* state);

// <state>/migrations, for messages.
std::string migrations_dir(const std::string& state_dir);
// Every migration's state, oldest first. One that cannot be read stops the listing.
Result<std::vector<StateFile>> list(const std::string& state_dir);
// The unfinished migration of spec.source to spec.target (or spec.id), or a new one.
Result<StateFile> open(const Spec& spec);
// Records this process as the migration's runner; Errc::exists while another runs it.
Status claim(StateFile& state);

// How a catch-up timeout names its setting ("... or raise the catch-up timeout"); the caller
// words it with its flag.
inline constexpr const char* kCatchupTimeoutSetting = "the catch-up timeout";
// How the refusal to leave logical slots behind names the setting that accepts it.
inline constexpr const char* kAbandonLogicalSlotsSetting = "the setting to abandon logical slots";

// Records spec.zfs_flags in the state until the bulk send begins; from then on a run with other
// flags is refused (Errc::invalid_argument, one line) before it does anything. run() calls it first; a caller
// may call it earlier, before it prints anything.
Status record_zfs_flags(const Spec& spec, StateFile& state);

enum class Outcome : std::uint8_t { done, ready };
// Runs (or continues) the migration. A failure is recorded in the state ("failed", or
// "stopped" when cancelled) before it is returned; `ready`: stopped before the switchover.
Result<Outcome> run(const Spec& spec, Remote& remote, CancelToken& cancel, Observer& observer, StateFile& state);

// What `abort` needs of the migration's target, made from its state's "target".
struct AbortTarget {
  std::unique_ptr<Remote> remote;
  std::string dataset;
};
// Undoes migration `id`: stops its run, then the target's standby, receives and dataset, the
// slot, the source's holds and snapshots, the state file. Refuses after a switchover, unless the
// migration fell back (`migrate fallback`): then it ends it, once `primary` (the old primary)
// shows it is the primary again; the target's server must be stopped (the fallback's fence left
// it so) or a standby, never a running primary. Returns what it did, one line each.
// `privilege_wrapper`: as Spec::privilege_wrapper, for the source's zfs release/destroy.
Result<std::vector<std::string>> abort(const std::string& state_dir, const std::string& id, const std::string& primary,
                                       const std::function<Result<AbortTarget>(const State&)>& target, CancelToken& cancel,
                                       const std::string& privilege_wrapper = "");

// The guard settings of `spec` (--wal-warn, --wal-limit, ...) for `spec.primary`; the caller
// names the slot.
pg::GuardOptions guard_options(const Spec& spec);

// Guards migration `id`'s slot between runs (`migrate watch`, meant to run under systemd):
// waits for the slot to exist, then samples it every g.interval with g's limits (g.slot is
// taken from the state). Returns the guard's trip (the slot retains too much, is lost, or
// disappeared), Ok once the migration has switched over, finished or been aborted, or the
// cancel reason. `say` gets one line per event worth logging.
Status watch(const std::string& state_dir, const std::string& id, pg::GuardOptions g, CancelToken& cancel,
             const std::function<void(const std::string&)>& say);

// Ends migration `id`'s fallback window (migrate run --keep-old-as-standby): stops the old
// server on this host (it must still be a standby: after a fallback it is the primary and this
// refuses), drops its slot on the new primary (`new_primary`: a conninfo, or "" for the one the
// state recorded), destroys the migration's snapshots here and on the target, and records it.
// Returns what it did, one line each.
// `privilege_wrapper`: as Spec::privilege_wrapper (zfs, pg_ctl as the owner, pg_control).
Result<std::vector<std::string>> finish(const std::string& state_dir, const std::string& id, const std::string& new_primary,
                                        const std::string& bindir, const std::function<Result<AbortTarget>(const State&)>& target,
                                        CancelToken& cancel, const std::string& privilege_wrapper = "");

// What `fallback` is given besides the migration: how the target host reaches each server
// and the hooks around the fence.
struct FallbackSpec {
  std::string old_primary;  // how the target reaches the old primary
  std::string new_primary;  // how the target reaches the new one ("": the conninfo the run recorded)
  std::chrono::milliseconds timeout{std::chrono::minutes(2)};
  // Run by the far switchover on the target host, where the fence and the promotion happen, with
  // the same environment as the run's hooks and PGM_DIRECTION=fallback. They travel on the far
  // command's stdin, like the conninfos (a hook may hold a pooler's password).
  std::string pre_fence_hook, post_hook;
};

// Falls back from migration `id`'s new primary to its old one, kept as a standby by the
// switchover (--keep-old-as-standby): the far `pg switchover` on the target host, where the new
// primary's data directory is, with the clean-stop fence and every check of the switchover.
// Returns the far switchover's report.
Result<std::string> fallback(const std::string& state_dir, const std::string& id, const FallbackSpec& spec,
                             const std::function<Result<AbortTarget>(const State&)>& target, CancelToken& cancel);

// The far halves' log on migration `id`'s target host (far-half.log, in the state directory of
// the far pgmigrate): its last `tail` bytes, whole lines, at most kMaxFarLogTail.
struct FarLog {
  std::string host, path, text;
  std::uint64_t size = 0;  // the whole current file
};
Result<FarLog> far_log(const std::string& state_dir, const std::string& id, std::uint64_t tail,
                       const std::function<Result<AbortTarget>(const State&)>& target, CancelToken& cancel);

// The process a state file names (pid, start time, boot id).
bool runner_alive(const State& s);

}  // namespace pgm::migrate
