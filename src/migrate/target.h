// migrate's work on the target host: `pgmigrate _migrate-target`, run there through SSH exec
// with the same binary. This file is the only one that spells that command: the near side
// builds its command lines here (*_command), the far side's cli/migrate_target.cc parses them
// into a TargetRequest and runs it here. Each far run answers with one JSON object
// (state_check.h checks its keys on the near side).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/cancel.h"
#include "pgmigrate/status.h"

namespace pgm::migrate {

inline constexpr const char* kTargetCommand = "_migrate-target";

// What the near side asks (each field is a flag of the far command).
struct TargetRequest {
  std::string dataset;          // --dataset POOL/FS
  bool probe = false;           // --probe: ZFS capabilities, pool space, the dataset's state
  int pg_major = 0;             // --pg-major: with --probe, whether those Postgres binaries exist
  std::string replication;      // --replication CONNINFO (on stdin): can this host reach the primary
  std::string bindir;           // --pg-bindir
  std::string destroy_prefix;   // --destroy-snapshots P: DATASET's snapshots named P* (pgmigrate-*)
  bool abort = false;           // --abort: stop the standby on --pgdata, abort receives, destroy
  bool after_fallback = false;  // --after-fallback: with --abort, a stopped former primary may go too
  std::string pgdata;           // --pgdata
  int probe_tls_port = -1;      // --probe-tls-port N: take one TLS connection as a transfer would
  std::uint64_t far_log = 0;    // --far-log BYTES: the last BYTES (whole lines) of this host's far-half.log
  // --tree-mounts unmount|mount: DATASET's descendants unmounted (deepest first), before an
  // increment is received into DATASET; or DATASET's tree mounted (parents first). A receive
  // into a parent with mounted children leaves those mounts hidden or gone on zfs-fuse.
  std::string tree_mounts;
};

// The most of the far half's log one answer carries (the answers are bounded; common/process.h).
inline constexpr std::uint64_t kMaxFarLogTail = std::uint64_t{8} << 20;

// The near side's command lines (`bin` is the far pgmigrate, already shell-quoted by `quote`).
using Quote = std::function<std::string(const std::string&)>;
std::string probe_command(const Quote& q, const std::string& bin, const std::string& dataset, int pg_major = 0,
                          const std::string& bindir = "");
std::string destroy_snapshots_command(const Quote& q, const std::string& bin, const std::string& dataset, const std::string& prefix);
std::string abort_command(const Quote& q, const std::string& bin, const std::string& dataset, const std::string& pgdata,
                          bool after_fallback = false);
std::string tree_mounts_command(const Quote& q, const std::string& bin, const std::string& dataset, bool mount);
std::string probe_tls_command(const Quote& q, const std::string& bin, const std::string& dataset, int port);
std::string far_log_command(const Quote& q, const std::string& bin, const std::string& dataset, std::uint64_t tail);

// The far side: runs the request and returns its answer (probe_tls first hands the listener's
// {"port","key"} to `listening`, then waits for the connection, and answers nothing more).
Result<nlohmann::json> run_target(const TargetRequest& r, CancelToken& cancel, const std::function<void(const nlohmann::json&)>& listening);

// --abort's part for a Debian target: removes the configuration directories under `conf_root`
// (/etc/postgresql/VER/NAME) whose data_directory is `pgdata` (what the standby step made,
// whatever it was named) and returns their VER/NAME. Another cluster's is never touched.
Result<std::vector<std::string>> remove_debian_clusters(const std::string& pgdata, const std::string& conf_root);

}  // namespace pgm::migrate
