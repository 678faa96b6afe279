// Turns a received, crash-consistent copy of a primary's data directory into a streaming standby.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/cancel.h"
#include "pg/debian_cluster.h"
#include "pg/lsn.h"
#include "pg/server_tools.h"
#include "pgmigrate/status.h"

namespace pgm::pg {

struct StandbySpec {
  std::string primary_conninfo;  // as the standby host reaches the primary
  std::string slot;
  std::optional<int> port;  // the standby's port when it differs from the primary's
  // recovery_target_timeline = 'latest' (the default since 12, written so that a setting of the
  // server's own does not stop it following a promotion: an old primary that becomes a standby).
  bool latest_timeline = false;
};

struct PreparedStandby {
  std::vector<std::string> removed;  // what was cleared, for the report
};

// Prepares `dir` (no server may be running there):
//   - empties pg_replslot/ (the copied slots, the migration's own included, would retain WAL on
//     the new host forever),
//   - removes postmaster.pid and postmaster.opts (copied from a running primary),
//   - removes recovery.signal, writes standby.signal,
//   - sets primary_conninfo, primary_slot_name (and port) in postgresql.auto.conf.
// Every file written is owned by the directory's owner. The directory came from the source host,
// so nothing in it is followed: a link in its path, or at any of the names above (or
// pgmigrate-postgres.log), is refused in one line before anything changes; links inside
// pg_replslot and at the *.pgmigrate-tmp names are removed, never followed.
Result<PreparedStandby> prepare_standby(const DataDir& dir, const StandbySpec& spec);

struct WalReceiverState {
  bool in_recovery = false;
  std::string status;  // pg_stat_wal_receiver.status, "" when no receiver runs
  std::string slot_name;
  unsigned received_tli = 0;
  std::optional<Lsn> receive_lsn;  // pg_last_wal_receive_lsn()
  std::optional<Lsn> replay_lsn;   // pg_last_wal_replay_lsn()
  bool replay_paused = false;
  std::string sender;  // "host:port" the receiver streams from (PG 11+)
};

class Connection;
Result<WalReceiverState> read_wal_receiver(Connection& standby);

struct StartOptions {
  std::string bindir;          // --pg-bindir
  std::string log_file;        // pg_ctl -l; default <pgdata>/pgmigrate-postgres.log
  std::string check_conninfo;  // how to connect to check streaming; default from postmaster.pid
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
  // A Debian/Ubuntu cluster whose configuration directory names this data directory
  // (write_cluster_config): started with pg_ctlcluster (systemctl under systemd), logging where
  // postgresql-common logs; log_file must then be empty.
  std::optional<ClusterId> debian_cluster;
};

// Starts the prepared standby with pg_ctl as the directory's owner (or as its Debian cluster),
// then waits until its WAL
// receiver streams. Returns the conninfo it used to check. The default log
// (<pgdata>/pgmigrate-postgres.log) must not be a link.
Result<std::string> start_standby(const DataDir& dir, const StartOptions& opt, const CancelToken& cancel);

// The last line of a server log that says why it failed, for error messages; "" if none. Only
// the log's last MiB is read, and never through a link at its name.
std::string last_log_complaint(const std::string& log_file);
std::string last_log_complaint(const DirFd& dir, const std::string& name);

}  // namespace pgm::pg
