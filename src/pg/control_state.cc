#include "pg/control_state.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "common/errno_text.h"
#include "pg/connection.h"
#include "pg/conninfo.h"
#include "pg/server_tools.h"
#include "pg/switchover.h"

namespace pgm::pg {
namespace {

namespace fs = std::filesystem;

// ControlFileData starts, in every version pgmigrate drives (12-17), with
//   uint64 system_identifier; uint32 pg_control_version; uint32 catalog_version_no; DBState state;
// so the state is the 4-byte enum at offset 16, in the host's byte order (the file is never
// moved between architectures: a standby must run on the primary's).
constexpr std::size_t kVersionOffset = 8;
constexpr std::size_t kStateOffset = 16;

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// A postmaster runs in pgdata: its postmaster.pid names a live process whose working directory
// is pgdata (the postmaster chdirs there). A copied postmaster.pid names a pid from the source
// host, which here may be any unrelated process. A live process we may not inspect (we are not
// root) counts as running: taking a running server for a stopped one would skip the stop.
bool postmaster_runs_in(const std::string& pgdata) {
  auto pm = read_postmaster_pid(pgdata);
  if (!pm || pm->pid <= 0 || pm->pid > INT32_MAX) return false;
  if (::kill(static_cast<pid_t>(pm->pid), 0) != 0 && errno == ESRCH) return false;
  std::error_code ec;
  auto cwd = fs::read_symlink("/proc/" + std::to_string(pm->pid) + "/cwd", ec);
  if (ec) return ec == std::errc::permission_denied || ec == std::errc::operation_not_permitted;
  return fs::equivalent(cwd, pgdata, ec) && !ec;
}

// Asks the running server itself, over the socket its postmaster.pid names, as the data
// directory's owner (the role initdb created, which local connections normally may use).
Result<bool> ask_in_recovery(const std::string& pgdata) {
  auto pm = read_postmaster_pid(pgdata);
  if (!pm) return Status(Errc::not_found, pgdata + "/postmaster.pid is unreadable");
  const std::string host = !pm->socket_dir.empty() ? pm->socket_dir : pm->listen_addr;
  if (host.empty() || pm->port <= 0) return Status(Errc::not_found, "postmaster.pid names no socket or address");
  std::string conninfo = "host=" + quote_conninfo_value(host) + " port=" + std::to_string(pm->port) + " dbname=postgres connect_timeout=5";
  if (auto dir = inspect_data_dir(pgdata); dir && !dir->owner_name.empty()) conninfo += " user=" + quote_conninfo_value(dir->owner_name);
  auto c = Connection::connect(conninfo, "server");
  if (!c) return c.status();
  auto r = c->scalar("SELECT pg_is_in_recovery()");
  if (!r) return r.status();
  return *r == "t";
}

// The newest timeline history file in pg_wal: a promotion writes one for the timeline it starts,
// so for a server that left recovery here this says when.
std::string newest_timeline(const std::string& pgdata) {
  std::error_code ec;
  unsigned long best = 0;
  fs::path best_path;
  for (const auto& e : fs::directory_iterator(fs::path(pgdata) / "pg_wal", ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() != 16 || name.compare(8, 8, ".history") != 0) continue;
    char* end = nullptr;
    const std::string hex = name.substr(0, 8);
    const unsigned long tli = std::strtoul(hex.c_str(), &end, 16);
    if (end != hex.c_str() + hex.size() || tli <= best) continue;
    best = tli;
    best_path = e.path();
  }
  if (best == 0) return "";
  struct stat st {};
  if (::stat(best_path.c_str(), &st) != 0) return "timeline " + std::to_string(best);
  const auto began = std::chrono::system_clock::from_time_t(st.st_mtim.tv_sec) +
                     std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(st.st_mtim.tv_nsec));
  return "timeline " + std::to_string(best) + " began " + format_timestamp(began);
}

}  // namespace

const char* cluster_state_name(ClusterState s) {
  switch (s) {
    case ClusterState::starting_up: return "starting up";
    case ClusterState::shut_down: return "shut down";
    case ClusterState::shut_down_in_recovery: return "shut down in recovery";
    case ClusterState::shutting_down: return "shutting down";
    case ClusterState::in_crash_recovery: return "in crash recovery";
    case ClusterState::in_archive_recovery: return "in archive recovery";
    case ClusterState::in_production: return "in production";
  }
  return "unrecognized status code";
}

Result<ClusterState> read_cluster_state(const std::string& pgdata) {
  const std::string path = pgdata + "/global/pg_control";
  // A received directory holds what the source put there; a link here would make us read (as
  // root) some other file and judge by it.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Status(Errc::not_found, path + " does not exist");
    return Status(Errc::io, "cannot read " + path + ": " + errno_text(errno));
  }
  std::array<unsigned char, kStateOffset + 4> head{};
  const ssize_t n = ::pread(fd, head.data(), head.size(), 0);
  const int err = errno;
  ::close(fd);
  if (n < 0) return Status(Errc::io, "cannot read " + path + ": " + errno_text(err));
  if (static_cast<std::size_t>(n) < head.size()) return Status(Errc::corrupt, path + " is too short to be a control file");
  std::uint32_t version = 0;
  std::int32_t state = 0;
  std::memcpy(&version, head.data() + kVersionOffset, sizeof version);
  std::memcpy(&state, head.data() + kStateOffset, sizeof state);
  // PG 12 wrote 1201, PG 13-16 1300, PG 17 1700: anything far outside is not a control file
  // this layout describes (or another architecture's byte order).
  if (version < 1100 || version >= 10000)
    return Status(Errc::unsupported, path + ": unexpected pg_control version " + std::to_string(version));
  if (state < 0 || state > static_cast<std::int32_t>(ClusterState::in_production))
    return Status(Errc::corrupt, path + ": unknown cluster state " + std::to_string(state));
  return static_cast<ClusterState>(state);
}

Result<ServerRole> assess_server_role(const std::string& pgdata) {
  ServerRole role;
  auto state = read_cluster_state(pgdata);
  if (!state) {
    if (state.status().code() == Errc::not_found) return role;  // nothing that could be a server
    return state.status();
  }
  role.data_directory = true;
  role.timeline = newest_timeline(pgdata);
  const bool signal = file_exists(pgdata + "/standby.signal");
  const std::string files =
      std::string("control state '") + cluster_state_name(*state) + "', " + (signal ? "standby.signal present" : "no standby.signal");
  role.running = postmaster_runs_in(pgdata);
  if (!role.running) {
    // Postgres deletes standby.signal as it leaves recovery, before it accepts a write, and
    // `pg standby` writes it before any server starts here: while the file is there, this
    // directory has not been promoted since it was prepared. The control state alone cannot
    // tell: a prepared copy whose start failed still has the copied primary's "in production".
    role.standby = signal;
    role.primary = !signal;
    role.evidence = "not running; " + files;
    return role;
  }
  auto in_recovery = ask_in_recovery(pgdata);
  if (in_recovery) {
    // In recovery without standby.signal is a promotion under way: it is a primary a moment later.
    role.standby = signal && *in_recovery;
    role.primary = !signal || !*in_recovery;
    role.evidence = std::string("running, pg_is_in_recovery() = ") + (*in_recovery ? "true" : "false") + "; " + files;
  } else {
    // No session (pg_hba.conf, a server still starting): Postgres writes "in production" into
    // pg_control in the same step that ends recovery, so "in archive recovery" there, with the
    // signal file, is a standby.
    role.standby = signal && *state == ClusterState::in_archive_recovery;
    role.primary = !signal;
    role.evidence = "running; " + files + " (could not ask it: " + in_recovery.status().message() + ")";
  }
  return role;
}

}  // namespace pgm::pg
