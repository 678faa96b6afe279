// A planned switchover from the old primary to its streaming standby that loses no acknowledged
// commit. The old primary is fenced (stopped cleanly, or closed to every client session); the
// standby is promoted only after it has received and replayed the fence's final WAL position.
// Anything that fails before promotion undoes the fence; after promotion the old primary is
// never made writable again.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/cancel.h"
#include "pg/connection.h"
#include "pg/debian_cluster.h"
#include "pg/lsn.h"
#include "pg/server_tools.h"
#include "pg/slot.h"
#include "pgmigrate/status.h"

namespace pgm::pg {

enum class Fence {
  stop,         // CHECKPOINT, then a fast stop (pg_ctl locally, or --stop-cmd)
  connections,  // libpq only: ALLOW_CONNECTIONS false everywhere, terminate client backends
};
Result<Fence> parse_fence(const std::string& text);
const char* fence_name(Fence f);

// Settings the switchover's errors name in words, because not every command that runs it has
// the flag: `pg switchover` words them as --stop-timeout and --primary-cluster (cli/exit.h's
// name_setting); `migrate` has neither (it finds a Debian primary's cluster itself and keeps
// the default bound), so its user reads the words.
inline constexpr const char* kStopTimeoutSetting = "the fence's time limit";
inline constexpr const char* kPrimaryClusterSetting = "the old primary's Debian cluster";

struct SwitchoverOptions {
  std::string primary_conninfo;
  std::string standby_conninfo;
  std::string slot = kDefaultSlot;
  Fence fence = Fence::stop;
  // Fence::stop: exactly one of primary_pgdata (the old primary runs on this host) or stop_cmd.
  std::string primary_pgdata;
  // Or the old primary is this Debian/Ubuntu cluster on this host ("15/main"): stopped with
  // pg_ctlcluster (systemctl where systemd runs it) and restarted the same way on rollback. A
  // primary_pgdata whose server reads its config from /etc/postgresql/V/N is detected as one.
  std::string primary_cluster;
  std::string stop_cmd;
  std::string start_cmd;    // restarts the old primary on rollback; required with stop_cmd
  std::string primary_log;  // pg_ctl -l when restarting locally; default <pgdata>/pgmigrate-postgres.log
  std::string bindir;       // where pg_ctl / pg_controldata live
  // The privilege wrapper ("sudo -n", common/elevation.h) of a pgmigrate that is not root: the
  // fence and its rollback run pg_ctl as the data directory's owner (`sudo -n -u OWNER`),
  // pg_ctlcluster/systemctl as root, and read global/pg_control as the owner, through it.
  std::string privilege_wrapper;
  std::uint64_t max_lag = 16ull << 20;
  std::chrono::milliseconds timeout{std::chrono::minutes(2)};       // the whole switchover
  std::chrono::milliseconds stop_timeout{std::chrono::minutes(1)};  // the fence itself
  // Run before the fence (a pooler's PAUSE) and after promotion (its RESUME against the new
  // primary), each with hook_environment(). A failing pre-hook stops the switchover before
  // anything is fenced. After a rollback the post-hook runs again, when a pre-hook ran, with
  // PGM_PHASE=rolled-back and PGM_PRIMARY_* naming the old primary, so that a paused pooler
  // resumes against the server that takes writes.
  // After a clean-stop fence of an old primary on this host (--primary-pgdata/--primary-cluster):
  // make it a streaming standby of the new primary through `fallback_slot` there, start it and
  // prove it follows the new timeline, so that a fallback is one more switchover.
  bool keep_old_as_standby = false;
  std::string fallback_slot = "pgmigrate_fallback";
  std::string pre_fence_hook;
  std::string post_hook;
  std::chrono::milliseconds hook_timeout{std::chrono::minutes(1)};
  // PGM_DIRECTION for the hooks: "switchover", or "fallback" when this switches back to the
  // primary a migration left (migrate fallback), so that one hook script serves both ways.
  std::string direction = "switchover";
};

// The hooks' environment variables, one line each ("NAME: meaning"), for --help and the docs.
const std::vector<std::string>& hook_variable_help();

struct SwitchoverStep {
  std::chrono::system_clock::time_point at;
  double elapsed_s = 0;  // since the switchover began
  std::string name;      // "pre-checks", "fence", "catch-up", "promote", ...
  bool ok = true;
  std::string detail;
};

struct SwitchoverReport {
  std::vector<SwitchoverStep> steps;
  bool fenced = false;
  bool promoted = false;
  bool rolled_back = false;
  bool old_is_standby = false;  // keep_old_as_standby succeeded
  std::optional<Lsn> final_lsn;
  unsigned old_timeline = 0, new_timeline = 0;
  // From the moment the fence began refusing writes to the moment the new primary accepted one
  // (or, after a rollback, the old primary accepted one again).
  std::optional<double> write_window_s;
  std::vector<std::string> notes;  // where the slot remains, what the fence does not stop
};

// "2024-06-01T12:00:00.123Z".
std::string format_timestamp(std::chrono::system_clock::time_point t);

class Switchover {
 public:
  using StepObserver = std::function<void(const SwitchoverStep&)>;
  Switchover(SwitchoverOptions options, const CancelToken& cancel, StepObserver on_step = nullptr);

  // Runs every step. Ok only if the standby was promoted and accepted a write (and the post-hook,
  // if any, succeeded). report() says how far it got either way.
  Status run();
  const SwitchoverReport& report() const { return report_; }

 private:
  Status validate() const;
  Status precheck();
  // What the fence needs, checked before anything changes; returns how the pre-checks describe
  // the fence (connections: a superuser and a second database; stop: the primary's data
  // directory, or its Debian cluster).
  Result<std::string> prepare_fence();
  Result<std::string> prepare_connection_fence();
  Result<std::string> prepare_stop_fence();
  Status fence();
  Status fence_stop();
  Status fence_connections();
  Status stop_old_primary(std::chrono::milliseconds budget);
  void keep_old_cluster_down();
  Result<std::optional<ClusterId>> primary_debian_cluster();
  Status wait_catch_up();
  Status promote();
  Status check_new_primary_writes();
  void release_slot();
  // `phase`: PGM_PHASE, "pre-fence", "promoted" or "rolled-back".
  Status keep_old_as_standby();
  Status run_hook(const std::string& flag, const std::string& cmd, const std::string& phase);
  std::vector<std::string> hook_environment(const std::string& phase) const;
  // Undo the fence after a failure before promotion. Returns `why` with what the rollback did.
  Status rollback(const Status& why);
  Status restart_old_primary();
  Status wait_old_primary_writable(std::chrono::milliseconds budget);

  void step(const std::string& name, bool ok, const std::string& detail);
  std::chrono::milliseconds remaining() const;
  bool cancelled() const { return cancel_.cancelled(); }

  SwitchoverOptions opt_;
  const CancelToken& cancel_;
  StepObserver on_step_;
  SwitchoverReport report_;
  std::chrono::steady_clock::time_point start_, deadline_, fence_started_;
  std::optional<Connection> primary_, standby_;
  // Fence::connections: a second session on the old primary, on another database, because a
  // session cannot disallow connections to its own database. Each disallows the other's.
  std::optional<Connection> helper_;
  std::string primary_db_, helper_db_;
  std::string our_pids_;  // "123,456": backends the fence must not terminate
  std::optional<DataDir> primary_dir_;
  std::optional<ClusterId> primary_cluster_;       // the old primary is this Debian cluster
  std::optional<std::string> primary_start_mode_;  // its start.conf before the fence set it to manual
  std::string system_identifier_;
  bool pre_hook_ran_ = false;
  std::string old_host_, old_port_, new_host_, new_port_;  // for the hooks' PGM_*_HOST/PORT
  Lsn pre_fence_lsn_;
  bool final_exclusive_ = false;  // the final LSN is the start of the shutdown checkpoint record
  std::vector<std::string> disallowed_dbs_;
};

}  // namespace pgm::pg
