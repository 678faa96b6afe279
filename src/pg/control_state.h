// Is the server of a data directory a standby or a primary? Decided from what Postgres itself
// keeps there (global/pg_control, standby.signal, postmaster.pid) and, when a server runs
// there, from the server (pg_is_in_recovery()). `migrate abort` asks before it stops or
// destroys anything on the target: a promoted server holds every write since the switchover.
#pragma once

#include <cstdint>
#include <string>

#include "pgmigrate/status.h"

namespace pgm::pg {

// pg_control's DBState, numbered as in Postgres' pg_control.h (unchanged since 9.x).
enum class ClusterState : std::uint8_t {
  starting_up = 0,
  shut_down = 1,
  shut_down_in_recovery = 2,
  shutting_down = 3,
  in_crash_recovery = 4,
  in_archive_recovery = 5,
  in_production = 6,
};
// pg_controldata's words: "in production", "shut down in recovery", ...
const char* cluster_state_name(ClusterState s);

// The cluster state from <pgdata>/global/pg_control, read directly: it needs no Postgres
// binaries (the target may keep them where only --pg-bindir finds them) and works as any user
// that can read the file. Errc::not_found when there is no control file.
Result<ClusterState> read_cluster_state(const std::string& pgdata);

struct ServerRole {
  bool data_directory = false;  // pgdata holds global/pg_control
  bool running = false;         // a postmaster runs in pgdata now
  // Safe to stop and destroy: a standby that was never promoted (or a copy prepared as one and
  // never started). False for a primary, a promotion under way, or a server we cannot judge.
  bool standby = false;
  // Positively a primary, or one a moment from now: no standby.signal (Postgres removes it as it
  // leaves recovery), or the server says it is not in recovery. False for a standby, and for a
  // server that is no standby for a reason we cannot read (running, cannot be asked, starting).
  bool primary = false;
  std::string evidence;  // what decided it, for messages: "pg_is_in_recovery() = false", ...
  std::string timeline;  // "timeline 2 began 2024-06-01 12:00:03 UTC" from pg_wal, "" if none
};

// Judges the server in `pgdata` without changing anything. A directory that is no data
// directory (not received yet, or already destroyed) is data_directory = false.
Result<ServerRole> assess_server_role(const std::string& pgdata);

}  // namespace pgm::pg
