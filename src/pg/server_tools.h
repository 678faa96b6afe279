// The server-side programs a step needs on this host (pg_ctl), run as the data directory's
// owner, and the files in a data directory pgmigrate reads (PG_VERSION, global/pg_control,
// postmaster.pid) or writes. Also bounded shell hooks (--stop-cmd, --post-hook).
//
// A data directory received from the source holds whatever the source's postgres user put there,
// symbolic links included, and we often run as root: everything done inside one goes through a
// DirFd (common/dir_fd.h), relative to the directory's descriptor and never through a link.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/cancel.h"
#include "common/dir_fd.h"
#include "pg/lsn.h"
#include "pgmigrate/status.h"

namespace pgm::pg {

struct DataDir {
  std::string path;
  int major = 0;  // from PG_VERSION
  uid_t owner_uid = 0;
  gid_t owner_gid = 0;
  std::string owner_name;
  // How this process, neither root nor the owner (a normal user running migrate), reaches the
  // owner: the privilege wrapper (common/elevation.h) followed by `-u OWNER` (sudo and doas
  // both take it). "" when we are root or the owner, or with --no-sudo.
  std::string wrapper;
};

// Checks that `path` looks like a Postgres data directory (PG_VERSION, global/pg_control) of a
// supported major version and finds its owner. `path` itself may be a link (the operator's
// choice; open_data_dir refuses one where it matters); nothing inside is read through one.
// `wrapper`: the privilege wrapper of a pgmigrate that is neither root nor the owner; when the
// directory is not readable to us (0700 postgres), PG_VERSION and global/pg_control are read
// as the owner through it (`sudo -n -u OWNER cat -- FILE`), and DataDir::wrapper is set so that
// read_controldata and run_as_owner_prefix go the same way.
Result<DataDir> inspect_data_dir(const std::string& path, const std::string& wrapper = "");

// Opens the data directory to change it: every component of dir.path is opened with O_NOFOLLOW
// (a link anywhere is refused, saying which path to pass instead), and it must still be the
// directory owned by dir.owner_uid that inspect_data_dir saw.
Result<DirFd> open_data_dir(const DataDir& dir);

// What pgmigrate expects to find at a name in a data directory.
enum class EntryKind { file, directory };
// Refuses, in one line that says what to do, a symbolic link (or an entry of another kind) at
// `name`; an absent entry is fine. Postgres's own links (pg_wal, pg_tblspc/*) are never checked.
Status check_data_dir_entry(const DirFd& pgdata, const std::string& name, EntryKind kind);

// The path of a Postgres program: `bindir`/name if given; else Debian's
// /usr/lib/postgresql/<major>/bin/name; else the newest /usr/lib/postgresql/*/bin/name when
// major is 0; else `name` (looked up in PATH).
std::string find_pg_program(const std::string& name, int major, const std::string& bindir = "");

// The real path of `rel` in the data directory (pg_wal, a link to another dataset): resolved
// here, or, when the directory is closed to us (see inspect_data_dir), by `realpath` run as the
// owner through dir.wrapper.
Result<std::string> real_path_in(const DataDir& dir, const std::string& rel);

// The argv prefix that runs a program as the data directory's owner: empty when we already
// are that user; runuser -u OWNER -- when we are root (pg_ctl refuses to run as root); the
// wrapper and -u OWNER (`sudo -n -u postgres`) when dir.wrapper is set.
Result<std::vector<std::string>> run_as_owner_prefix(const DataDir& dir);

struct CommandRun {
  int wait_status = 0;
  bool timed_out = false;
  std::string out, err;
  bool success() const;
  // "exited with status 1: <stderr>" / "timed out after 30s".
  std::string describe() const;
};

// Files a normal user reaches only as their owner (a Debian cluster's pg_hba.conf, 0640
// postgres; its start.conf): `cat -- PATH` / `cp -- TMP PATH` run as `user` through the
// privilege `wrapper` (`sudo -n -u postgres ...`). A refusal by the wrapper is one line.
Result<std::string> read_file_as(const std::string& wrapper, const std::string& user, const std::string& path, std::size_t limit);
Status write_file_as(const std::string& wrapper, const std::string& user, const std::string& path, const std::string& content);
// The name of user `uid`, "" if it has none.
std::string user_name_of(uid_t uid);

// When `run` of `what` (through run_as_owner_prefix) failed because dir.wrapper refused it
// (sudo wants a password, sudoers lacks the line): the one line naming this host, the command,
// the user and the fixes (common/elevation.h). nullopt for any other failure.
std::optional<Status> owner_wrapper_refusal(const DataDir& dir, const std::string& what, const CommandRun& run);

// Runs argv (or, with `shell`, /bin/sh -c argv[0]) with LC_ALL=C, collecting stdout and
// stderr, and kills its process group when `timeout` passes or `cancel` fires.
Result<CommandRun> run_bounded(const std::vector<std::string>& argv, std::chrono::milliseconds timeout, const CancelToken* cancel = nullptr,
                               bool shell = false, const std::vector<std::string>& extra_env = {});

// pg_ctl stop -m fast -w on `dir`, as its owner, bounded by `timeout`.
Status pg_ctl_stop(const DataDir& dir, const std::string& bindir, std::chrono::seconds timeout, const CancelToken* cancel = nullptr);

struct ControlData {
  std::string state;              // "shut down", "in production", "shut down in recovery", ...
  std::optional<Lsn> checkpoint;  // "Latest checkpoint location"
  std::optional<Lsn> redo;        // "Latest checkpoint's REDO location"
  unsigned timeline = 0;          // "Latest checkpoint's TimeLineID"
  std::string system_identifier;  // "Database system identifier"
};

// Parses pg_controldata's output (run with LC_ALL=C).
ControlData parse_controldata(const std::string& text);
// Reads dir's global/pg_control itself (pg/pg_control.h), never through a link; `state` in
// pg_controldata's words. Refuses, in one line, a format pgmigrate does not know, a CRC
// mismatch, and a file whose format is not that of dir.major. `bindir` is unused (no
// pg_controldata is needed); it stays for callers that pass it.
Result<ControlData> read_controldata(const DataDir& dir, const std::string& bindir = "");

struct PostmasterPid {
  long pid = 0;
  int port = 0;
  std::string socket_dir;   // first unix_socket_directories entry, may be ""
  std::string listen_addr;  // first listen_addresses entry, may be ""
  std::string status;       // "ready", "starting", "stopping", "standby"
};
// Parses postmaster.pid (PG 10+ layout); nullopt if malformed.
std::optional<PostmasterPid> parse_postmaster_pid(const std::string& text);
// Reads postmaster.pid; nullopt if it is absent, malformed, or not a regular file (a link is
// never followed). The string form opens `pgdata` with DirFd::open_no_links.
std::optional<PostmasterPid> read_postmaster_pid(const DirFd& pgdata);
std::optional<PostmasterPid> read_postmaster_pid(const std::string& pgdata);

// Writes `content` to `path` atomically (temp file + rename) with `mode`, owned by the data
// directory's owner when we run as root. The directory holding `path` is reached as given; the
// temp file and `path` itself are never followed (see DirFd::write_file).
Status write_owned_file(const std::string& path, const std::string& content, const DataDir& owner, mode_t mode = 0600);
// The same for `name` inside an opened directory (the data directory's own files).
Status write_owned_file_at(const DirFd& dir, const std::string& name, const std::string& content, const DataDir& owner, mode_t mode = 0600);

// Reads a whole (small) file, following links: for files the operator named, not for files in
// a received data directory (DirFd::read_file).
Result<std::string> read_text_file(const std::string& path);

}  // namespace pgm::pg
