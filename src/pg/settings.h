// The settings of the `pgmigrate pg ...` commands (and of the slot guard that send and recv
// share) as the user gave them, as text, and what they resolve to: the typed specs and options
// of slot_admin.h, standby_setup.h, lag.h and switchover.h. The cli registers its flags straight
// into these structs and calls one function; what it prints stays with it. The refusals name the
// flags, which every command that has the setting spells the same.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pg/lag.h"
#include "pg/slot.h"
#include "pg/slot_admin.h"
#include "pg/standby.h"
#include "pg/standby_setup.h"
#include "pg/switchover.h"
#include "pgmigrate/status.h"

namespace pgm::pg {

// The time between slot samples, given with `flag` (--interval, --guard-interval): at least
// 100ms, so that a typo does not turn the guard into a load on the primary.
Result<std::chrono::milliseconds> sample_interval(const std::string& text, const char* flag);

// The slot guard of send and recv (--primary, --slot, --wal-warn, --wal-limit,
// --drop-slot-on-limit, --guard-interval).
struct SlotGuardSettings {
  std::string primary;
  std::string slot = kDefaultSlot;
  std::string wal_warn, wal_limit;  // empty: no warning, no limit
  bool drop_on_limit = false;
  std::string interval = "5s";
};

// nullopt without --primary (no guard); the guard's limits without it are refused.
Result<std::optional<GuardOptions>> slot_guard_options(const SlotGuardSettings& settings);

// `pg slot create|status|drop|watch`: the guard's settings (interval is --interval there, and
// --primary is required) and how long to watch.
struct SlotSettings {
  SlotGuardSettings guard;
  std::string duration;  // empty: until interrupted
};

SlotSpec slot_spec(const SlotSettings& settings);
Result<SlotWatchSpec> slot_watch_spec(const SlotSettings& settings);

// `pg standby`.
struct StandbySettings {
  std::string pgdata, primary, slot = kDefaultSlot, standby, log, bindir, timeout = "5m";
  // The Debian cluster and its bundle, as a file or as its JSON text (--config-bundle-json, which
  // migrate puts on --options-stdin's line: no file left on the target, nothing in argv).
  std::string debian_cluster, config_bundle, config_bundle_json;
  std::vector<std::string> relink;  // FROM=TO
  int port = 0;                     // 0: the primary's
  bool start = false;
};

struct StandbyRequest {
  StandbySetupSpec setup;
  // For start_standby; its debian_cluster comes from what set_up_standby did (start_options).
  StartOptions start;
};

// Reads every setting (and the config bundle) before anything is changed on disk.
Result<StandbyRequest> standby_request(const StandbySettings& settings);
// The start options for the standby `done` set up: started as its Debian cluster when it became one.
StartOptions start_options(const StandbyRequest& request, const StandbySetup& done);

// `pg lag`.
struct LagSettings {
  std::string primary, standby, slot = kDefaultSlot;
  std::string wait;  // empty: measure once
  std::string timeout = "10m";
};

struct LagWait {
  std::uint64_t bound = 0;  // replay lag in bytes to wait below
  std::chrono::milliseconds timeout{0};
};

LagSpec lag_spec(const LagSettings& settings);
// --wait and --timeout, read only when waiting (after the connection, so that a wrong conninfo is
// the error reported first).
Result<LagWait> lag_wait(const LagSettings& settings);

// `pg switchover`, but for its hooks (--pre-fence-hook, --post-hook: text that stays text).
struct SwitchoverSettings {
  std::string primary, standby, slot = kDefaultSlot, fence = "stop";
  bool keep_old_as_standby = false;
  std::string fallback_slot = "pgmigrate_fallback";
  std::string primary_pgdata, primary_cluster, stop_cmd, start_cmd, primary_log, bindir;
  std::string direction = "switchover";
  std::string max_lag = "16M", timeout = "2m", stop_timeout = "60s", hook_timeout = "60s";
};

Result<SwitchoverOptions> switchover_options(const SwitchoverSettings& settings);

}  // namespace pgm::pg
