// The server-side programs a step needs on this host (pg_ctl, pg_controldata), run as the data
// directory's owner, and the files in a data directory pgmigrate reads (PG_VERSION,
// postmaster.pid). Also bounded shell hooks (--stop-cmd, --post-hook).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/cancel.h"
#include "common/status.h"
#include "pg/lsn.h"

namespace pgm::pg {

struct DataDir {
  std::string path;
  int major = 0;  // from PG_VERSION
  uid_t owner_uid = 0;
  gid_t owner_gid = 0;
  std::string owner_name;
};

// Checks that `path` looks like a Postgres data directory (PG_VERSION, global/pg_control) of a
// supported major version and finds its owner.
Result<DataDir> inspect_data_dir(const std::string& path);

// The path of a Postgres program: `bindir`/name if given; else Debian's
// /usr/lib/postgresql/<major>/bin/name; else the newest /usr/lib/postgresql/*/bin/name when
// major is 0; else `name` (looked up in PATH).
std::string find_pg_program(const std::string& name, int major, const std::string& bindir = "");

// The argv prefix that runs a program as the data directory's owner: empty when we already
// are that user; runuser -u OWNER -- when we are root (pg_ctl refuses to run as root).
Result<std::vector<std::string>> run_as_owner_prefix(const DataDir& dir);

struct CommandRun {
  int wait_status = 0;
  bool timed_out = false;
  std::string out, err;
  bool success() const;
  // "exited with status 1: <stderr>" / "timed out after 30s".
  std::string describe() const;
};

// Runs argv (or, with `shell`, /bin/sh -c argv[0]) with LC_ALL=C, collecting stdout and
// stderr, and kills its process group when `timeout` passes or `cancel` fires.
Result<CommandRun> run_bounded(const std::vector<std::string>& argv, std::chrono::milliseconds timeout, const CancelToken* cancel = nullptr,
                               bool shell = false, const std::vector<std::string>& extra_env = {});

struct ControlData {
  std::string state;              // "shut down", "in production", "shut down in recovery", ...
  std::optional<Lsn> checkpoint;  // "Latest checkpoint location"
  std::optional<Lsn> redo;        // "Latest checkpoint's REDO location"
  unsigned timeline = 0;          // "Latest checkpoint's TimeLineID"
  std::string system_identifier;  // "Database system identifier"
};

// Parses pg_controldata's output (run with LC_ALL=C).
ControlData parse_controldata(const std::string& text);
Result<ControlData> read_controldata(const DataDir& dir, const std::string& bindir = "");

struct PostmasterPid {
  long pid = 0;
  int port = 0;
  std::string socket_dir;   // first unix_socket_directories entry, may be ""
  std::string listen_addr;  // first listen_addresses entry, may be ""
  std::string status;       // "ready", "starting", "stopping", "standby"
};
// Parses postmaster.pid (PG 10+ layout); nullopt if the file is absent or malformed.
std::optional<PostmasterPid> read_postmaster_pid(const std::string& pgdata);

// Writes `content` to `path` atomically (temp file + rename) with `mode`, owned by the data
// directory's owner when we run as root.
Status write_owned_file(const std::string& path, const std::string& content, const DataDir& owner, mode_t mode = 0600);

// Reads a whole (small) file.
Result<std::string> read_text_file(const std::string& path);

}  // namespace pgm::pg
