#include "pg/server_tools.h"
#include "common/errno_text.h"
#include "common/text.h"

#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <thread>

#include "common/elevation.h"
#include "common/process.h"
#include "common/units.h"
#include "pg/control_state.h"
#include "pg/pg_control.h"

namespace pgm::pg {
namespace fs = std::filesystem;
namespace {

// Postgres writes global/pg_control as one 8 KiB block (PG_CONTROL_FILE_SIZE) in every major.
constexpr std::size_t kControlFileSize = 8192;

// Whether this process reaches dir's files only as its owner, through dir.wrapper: it is
// neither root nor the owner, and the directory is closed to it (initdb makes it 0700).
bool read_through_owner(const DataDir& dir) {
  const uid_t me = ::geteuid();
  return !dir.wrapper.empty() && me != 0 && me != dir.owner_uid && ::access(dir.path.c_str(), R_OK | X_OK) != 0;
}

// The one line for a command run as `user` through `wrapper` that the wrapper refused.
std::optional<Status> wrapper_refusal(const std::string& wrapper, const std::string& user, const std::string& what, const CommandRun& run) {
  const std::string said = wrapper_said(run.err);
  if (run.success() || run.timed_out || wrapper.empty() || ::geteuid() == 0 || !is_wrapper_refusal(wrapper, said)) return std::nullopt;
  return elevation_refused(this_host_name(), wrapper + " -u " + user, "'" + what + "'", effective_user_name(), said);
}

// `rel` (a file in the data directory) read as its owner through the wrapper. `cat` follows a
// link in the path, unlike DirFd; this is only the source's own running primary, which a link
// there could only make its owner read its owner's files.
Result<std::string> read_as_owner(const DataDir& dir, const std::string& rel, std::size_t limit) {
  PGM_RETURN_IF_ERROR(run_as_owner_prefix(dir).status());
  return read_file_as(dir.wrapper, dir.owner_name, dir.path + "/" + rel, limit);
}

// The owner of `d.path` (lstat on the directory itself needs no permission on it).
Status find_owner(DataDir& d, const struct stat& st) {
  d.owner_uid = st.st_uid;
  d.owner_gid = st.st_gid;
  d.owner_name = user_name_of(st.st_uid);
  return Status::Ok();
}

Status check_major(DataDir& d, const std::string& version_text) {
  const std::string v = trim(version_text);
  d.major = std::atoi(v.c_str());
  if (d.major < 12 || d.major > 18)
    return Status(Errc::unsupported, d.path + " holds Postgres " + printable(v, 20) + "; pgmigrate supports Postgres 12 to 18");
  return Status::Ok();
}

// inspect_data_dir of a directory closed to us: its files read as the owner.
Result<DataDir> inspect_through_owner(DataDir d, const struct stat& st) {
  (void)find_owner(d, st);
  if (d.owner_name.empty())
    return Status(Errc::invalid_argument, d.path + " is owned by uid " + std::to_string(d.owner_uid) + " which has no user name");
  auto ver = read_as_owner(d, "PG_VERSION", 64);
  if (!ver) {
    if (ver.status().code() == Errc::not_found)
      return Status(Errc::invalid_argument, d.path + " is not a Postgres data directory (no PG_VERSION)");
    return ver.status();
  }
  PGM_RETURN_IF_ERROR(check_major(d, *ver));
  auto control = read_as_owner(d, "global/pg_control", kControlFileSize);
  if (!control && control.status().code() == Errc::not_found)
    return Status(Errc::invalid_argument, d.path + " has no global/pg_control: not a complete data directory");
  if (!control) return control.status();
  return d;
}

}  // namespace

Result<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(errno == ENOENT ? Errc::not_found : Errc::io, "cannot read " + path + ": " + errno_text(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<DataDir> inspect_data_dir(const std::string& path, const std::string& wrapper) {
  DataDir d;
  std::error_code ec;
  d.path = fs::absolute(path, ec).lexically_normal().string();
  while (d.path.size() > 1 && d.path.back() == '/') d.path.pop_back();
  if (struct stat top{}; !wrapper.empty() && ::stat(d.path.c_str(), &top) == 0 && S_ISDIR(top.st_mode)) {
    d.owner_uid = top.st_uid;
    d.wrapper = wrapper;
    if (read_through_owner(d)) return inspect_through_owner(d, top);
    d.wrapper = ::geteuid() == 0 || ::geteuid() == top.st_uid ? std::string() : wrapper;
  }
  auto dirfd = DirFd::open(d.path);
  if (!dirfd) return Status(Errc::not_found, "data directory " + d.path + " does not exist: check --pgdata");
  struct stat st {};
  if (::fstat(dirfd->get(), &st) != 0) return Status(Errc::io, "cannot stat " + d.path + ": " + errno_text(errno));
  // PG_VERSION and global/pg_control are read without following links: in a received directory
  // a link could make us read (and print) any file on this host, and a FIFO would hang us.
  auto ver = dirfd->read_file("PG_VERSION", 64);
  if (!ver) {
    if (ver.status().code() == Errc::not_found)
      return Status(Errc::invalid_argument, d.path + " is not a Postgres data directory (no PG_VERSION)");
    return ver.status();
  }
  PGM_RETURN_IF_ERROR(check_major(d, *ver));
  auto global = dirfd->open_dir("global");
  if (!global && global.status().code() != Errc::not_found) return global.status();
  auto control = global ? global->stat("pg_control") : Result<std::optional<struct stat>>(std::optional<struct stat>());
  if (!control) return control.status();
  if (!control->has_value()) return Status(Errc::invalid_argument, d.path + " has no global/pg_control: not a complete data directory");
  (void)find_owner(d, st);
  return d;
}

Result<DirFd> open_data_dir(const DataDir& dir) {
  std::string link;
  auto d = DirFd::open_no_links(dir.path, &link);
  if (!d) {
    if (link.empty()) return d.status();
    // The received directory (or a directory it sits in) may itself be a planted link, to
    // another cluster's data directory for instance. A link the operator made on purpose is
    // resolved by passing its target.
    std::error_code ec;
    const fs::path real = fs::canonical(dir.path, ec);
    return Status(Errc::invalid_argument,
                  printable(link, 1024) + " is a symbolic link (to " + printable(fs::read_symlink(link, ec).string()) +
                      "): pgmigrate does not follow links in the path of a data directory it changes" +
                      (real.empty() ? std::string() : "; if you trust it, pass --pgdata " + printable(real.string(), 1024)));
  }
  struct stat st {};
  if (::fstat(d->get(), &st) != 0) return Status(Errc::io, "cannot stat " + dir.path + ": " + errno_text(errno));
  if (st.st_uid != dir.owner_uid)
    return Status(Errc::invalid_argument, dir.path + " is owned by uid " + std::to_string(st.st_uid) + ", not uid " +
                                              std::to_string(dir.owner_uid) + " as when it was inspected: it changed; run again");
  return d;
}

Status check_data_dir_entry(const DirFd& pgdata, const std::string& name, EntryKind kind) {
  auto st = pgdata.stat(name);
  if (!st) return st.status();
  if (!st->has_value()) return Status::Ok();
  const mode_t mode = (*st)->st_mode;
  if (S_ISLNK(mode))
    return Status(Errc::invalid_argument,
                  pgdata.child(name) + " is a symbolic link (to " + pgdata.link_target(name) +
                      "): a data directory received from the source must not contain one here; remove it and run again");
  if (kind == EntryKind::directory && !S_ISDIR(mode))
    return Status(Errc::invalid_argument, pgdata.child(name) + " is not a directory: remove it and run again");
  if (kind == EntryKind::file && !S_ISREG(mode))
    return Status(Errc::invalid_argument, pgdata.child(name) + " is not a regular file: remove it and run again");
  return Status::Ok();
}

std::string find_pg_program(const std::string& name, int major, const std::string& bindir) {
  if (!bindir.empty()) return bindir + "/" + name;
  if (major > 0) {
    std::string p = "/usr/lib/postgresql/" + std::to_string(major) + "/bin/" + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  } else {
    int best = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
      int v = std::atoi(e.path().filename().c_str());
      if (v > best && ::access((e.path() / "bin" / name).c_str(), X_OK) == 0) best = v;
    }
    if (best > 0) return "/usr/lib/postgresql/" + std::to_string(best) + "/bin/" + name;
  }
  return name;
}

Result<std::string> real_path_in(const DataDir& dir, const std::string& rel) {
  const std::string path = dir.path + "/" + rel;
  if (!read_through_owner(dir)) {
    std::error_code ec;
    auto real = fs::canonical(path, ec);
    if (ec) return Status(Errc::io, "cannot resolve " + path + ": " + ec.message());
    return real.string();
  }
  auto prefix = run_as_owner_prefix(dir);
  if (!prefix) return prefix.status();
  std::vector<std::string> argv = *prefix;
  for (const std::string& a : {std::string("realpath"), std::string("--"), path}) argv.push_back(a);
  auto run = run_bounded(argv, std::chrono::seconds(30));
  if (!run) return run.status();
  if (auto refused = owner_wrapper_refusal(dir, "realpath " + path, *run)) return *refused;
  if (!run->success()) return Status(Errc::io, "cannot resolve " + path + " as " + dir.owner_name + ": " + run->describe());
  return trim(run->out);
}

Result<std::vector<std::string>> run_as_owner_prefix(const DataDir& dir) {
  const uid_t me = ::geteuid();
  if (me == dir.owner_uid) {
    if (me == 0)
      return Status(Errc::invalid_argument, dir.path + " is owned by root; Postgres refuses to run as root: chown it to the postgres user");
    return std::vector<std::string>{};
  }
  if (me != 0 && (dir.wrapper.empty() || dir.owner_name.empty()))
    return Status(Errc::invalid_argument, dir.path + " belongs to " +
                                              (dir.owner_name.empty() ? std::to_string(dir.owner_uid) : dir.owner_name) +
                                              ": run pgmigrate as that user or as root");
  if (me != 0) return elevated_argv(dir.wrapper, {"-u", dir.owner_name});
  if (dir.owner_name.empty())
    return Status(Errc::invalid_argument, dir.path + " is owned by uid " + std::to_string(dir.owner_uid) + " which has no user name");
  return std::vector<std::string>{"runuser", "-u", dir.owner_name, "--"};
}

bool CommandRun::success() const { return !timed_out && WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0; }

std::string CommandRun::describe() const {
  if (timed_out) return "timed out";
  std::string s = describe_wait_status(wait_status);
  std::string e = trim(err);
  if (e.empty()) e = trim(out);
  if (e.size() > 400) e = "..." + e.substr(e.size() - 400);
  for (auto& c : e)
    if (c == '\n') c = ' ';
  if (!e.empty()) s += ": " + e;
  return s;
}

Result<CommandRun> run_bounded(const std::vector<std::string>& argv, std::chrono::milliseconds timeout, const CancelToken* cancel,
                               bool shell, const std::vector<std::string>& extra_env) {
  ProcessSpec spec;
  spec.argv = {"env", "LC_ALL=C", "LANG=C", "LANGUAGE="};
  for (const auto& e : extra_env) spec.argv.push_back(e);
  if (shell) {
    spec.argv.insert(spec.argv.end(), {"/bin/sh", "-c", argv.at(0)});
  } else {
    spec.argv.insert(spec.argv.end(), argv.begin(), argv.end());
  }
  spec.pipe_stdout = true;
  spec.pipe_size = 0;
  auto proc = Subprocess::spawn(spec);
  if (!proc) return proc.status();
  Subprocess& p = **proc;
  CommandRun run;
  // stdout is read here; waiting happens on a helper thread so that the deadline can kill the
  // whole process group without racing waitpid.
  std::atomic<bool> done{false};
  std::thread waiter([&] {
    run.wait_status = p.wait();
    done.store(true);
  });
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const int out_fd = p.stdout_fd().get();
  bool out_open = true;
  bool killed = false;
  bool overflow = false;  // more stdout than anything pgmigrate parses: never parse half of it
  constexpr std::size_t kMaxOut = std::size_t{1} << 20;
  while (!done.load() || out_open) {
    if (!killed && (std::chrono::steady_clock::now() >= deadline || (cancel != nullptr && cancel->cancelled()))) {
      run.timed_out = std::chrono::steady_clock::now() >= deadline;
      ::kill(-p.pid(), SIGKILL);
      killed = true;
    }
    if (out_open) {
      struct pollfd pfd {
        out_fd, POLLIN, 0
      };
      int r = ::poll(&pfd, 1, 50);
      if (r > 0) {
        char buf[8192];
        ssize_t n = ::read(out_fd, buf, sizeof buf);
        if (n > 0) {
          if (run.out.size() + static_cast<std::size_t>(n) <= kMaxOut) {
            run.out.append(buf, static_cast<std::size_t>(n));
          } else if (!killed) {
            overflow = true;
            ::kill(-p.pid(), SIGKILL);
            killed = true;
          }
        } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
          out_open = false;
        }
      }
      // A daemon (a postmaster started by pg_ctl) may inherit stdout: stop reading once the
      // command itself has exited and nothing more is ready.
      if (done.load() && r == 0) out_open = false;
    } else {
      ::usleep(20 * 1000);
    }
  }
  waiter.join();
  if (overflow)
    return Status(Errc::child_failed, "'" + argv.at(0) + "' printed more than " + std::to_string(kMaxOut >> 20) + " MiB; stopped it");
  if (killed && !run.timed_out)
    return Status(Errc::interrupted, "'" + argv.at(0) + "' was stopped: " + (cancel ? cancel->reason().message() : "cancelled"));
  run.err = p.stderr_text();
  return run;
}

ControlData parse_controldata(const std::string& text) {
  ControlData cd;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = trim(line.substr(0, colon));
    std::string value = trim(line.substr(colon + 1));
    if (key == "Database cluster state") cd.state = value;
    else if (key == "Latest checkpoint location") cd.checkpoint = Lsn::parse(value);
    else if (key == "Latest checkpoint's REDO location") cd.redo = Lsn::parse(value);
    else if (key == "Latest checkpoint's TimeLineID") cd.timeline = static_cast<unsigned>(std::strtoul(value.c_str(), nullptr, 10));
    else if (key == "Database system identifier") cd.system_identifier = value;
  }
  return cd;
}

Result<ControlData> read_controldata(const DataDir& dir, const std::string& /*bindir*/) {
  // Read directly (pg/pg_control.h), not through pg_controldata: only one of the data
  // directory's own major reads the file right, and upstream server builds ship none. The file
  // is opened without following a link, as inspect_data_dir reads it.
  const std::string where = dir.path + "/global/pg_control";
  std::string bytes;
  if (read_through_owner(dir)) {
    auto read = read_as_owner(dir, "global/pg_control", kControlFileSize);
    if (!read) return read.status().context("reading " + where);
    bytes = std::move(*read);
  } else {
    auto pgdata = DirFd::open(dir.path);
    if (!pgdata) return pgdata.status();
    auto global = pgdata->open_dir("global");
    if (!global) return global.status().context("reading " + where);
    auto read = global->read_file("pg_control", kControlFileSize);
    if (!read) return read.status().context("reading " + where);
    bytes = std::move(*read);
  }
  auto cf = parse_pg_control(bytes);
  if (!cf) return cf.status().context(where);
  if (Status s = check_control_major(*cf, dir.major); !s.ok()) return s.context(where);
  ControlData cd;
  cd.state = cluster_state_name(cf->state);
  cd.checkpoint = cf->checkpoint;
  cd.redo = cf->redo;
  cd.timeline = cf->timeline;
  cd.system_identifier = std::to_string(cf->system_identifier);
  return cd;
}

std::optional<PostmasterPid> parse_postmaster_pid(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  if (lines.size() < 4) return std::nullopt;
  PostmasterPid p;
  p.pid = std::atol(lines[0].c_str());
  p.port = std::atoi(lines[3].c_str());
  if (lines.size() > 4) p.socket_dir = trim(lines[4]);
  if (lines.size() > 5) p.listen_addr = trim(lines[5]);
  if (lines.size() > 7) p.status = trim(lines[7]);
  if (auto comma = p.listen_addr.find(','); comma != std::string::npos) p.listen_addr = trim(p.listen_addr.substr(0, comma));
  if (p.listen_addr == "*") p.listen_addr = "127.0.0.1";
  if (p.pid <= 0) return std::nullopt;
  return p;
}

std::optional<PostmasterPid> read_postmaster_pid(const DirFd& pgdata) {
  auto text = pgdata.read_file("postmaster.pid", std::size_t{64} * 1024);
  if (!text) return std::nullopt;
  return parse_postmaster_pid(*text);
}

std::optional<PostmasterPid> read_postmaster_pid(const std::string& pgdata) {
  std::error_code ec;
  auto dir = DirFd::open_no_links(fs::absolute(pgdata, ec).lexically_normal().string());
  if (!dir) return std::nullopt;
  return read_postmaster_pid(*dir);
}

Status write_owned_file_at(const DirFd& dir, const std::string& name, const std::string& content, const DataDir& owner, mode_t mode) {
  std::optional<DirFd::Owner> chown_to;
  if (::geteuid() == 0) chown_to = DirFd::Owner{owner.owner_uid, owner.owner_gid};
  return dir.write_file(name, content, mode, chown_to);
}

Status write_owned_file(const std::string& path, const std::string& content, const DataDir& owner, mode_t mode) {
  const fs::path p(path);
  const std::string parent = p.has_parent_path() ? p.parent_path().string() : std::string(".");
  const std::string name = p.filename().string();
  if (name.empty() || name == "." || name == "..") return Status(Errc::invalid_argument, "cannot write " + path + ": not a file name");
  auto dir = DirFd::open(parent);
  if (!dir) return Status(Errc::io, "cannot write " + path + ": " + dir.status().message());
  return write_owned_file_at(*dir, name, content, owner, mode);
}

Status pg_ctl_stop(const DataDir& dir, const std::string& bindir, std::chrono::seconds timeout, const CancelToken* cancel) {
  auto prefix = run_as_owner_prefix(dir);
  if (!prefix) return prefix.status();
  std::vector<std::string> argv = *prefix;
  for (const std::string& a :
       {find_pg_program("pg_ctl", dir.major, bindir), std::string("stop"), std::string("-D"), dir.path, std::string("-m"),
        std::string("fast"), std::string("-w"), std::string("-t"), std::to_string(timeout.count())})
    argv.push_back(a);
  auto run = run_bounded(argv, timeout + std::chrono::seconds(5), cancel);
  if (!run) return run.status();
  if (auto refused = owner_wrapper_refusal(dir, "pg_ctl stop", *run)) return *refused;
  if (!run->success()) return Status(run->timed_out ? Errc::timeout : Errc::child_failed, "pg_ctl stop " + run->describe());
  return Status::Ok();
}

std::optional<Status> owner_wrapper_refusal(const DataDir& dir, const std::string& what, const CommandRun& run) {
  return wrapper_refusal(dir.wrapper, dir.owner_name, what, run);
}

Result<std::string> read_file_as(const std::string& wrapper, const std::string& user, const std::string& path, std::size_t limit) {
  auto run = run_bounded(elevated_argv(wrapper, {"-u", user, "cat", "--", path}), std::chrono::seconds(30));
  if (!run) return run.status();
  if (auto refused = wrapper_refusal(wrapper, user, "cat " + path, *run)) return *refused;
  if (!run->success()) {
    if (run->err.find("No such file") != std::string::npos) return Status(Errc::not_found, path + " does not exist");
    return Status(Errc::io, "cannot read " + path + " as " + user + ": " + run->describe());
  }
  if (run->out.size() > limit) return Status(Errc::io, path + " is larger than " + std::to_string(limit) + " bytes");
  return std::move(run->out);
}

Status write_file_as(const std::string& wrapper, const std::string& user, const std::string& path, const std::string& content) {
  // `user` copies it from a file of ours it can read; cp rewrites `path` in place, keeping its
  // owner and mode (start.conf: one word, read by postgresql-common only when it starts).
  std::string tmp = (fs::temp_directory_path() / "pgmigrate-XXXXXX").string();
  UniqueFd fd(::mkstemp(tmp.data()));
  if (!fd.valid()) return Status(Errc::io, "cannot create a temporary file: " + errno_text(errno));
  const bool written =
      ::write(fd.get(), content.data(), content.size()) == static_cast<ssize_t>(content.size()) && ::fchmod(fd.get(), 0644) == 0;
  fd.reset();
  if (!written) {
    ::unlink(tmp.c_str());
    return Status(Errc::io, "cannot write " + tmp + ": " + errno_text(errno));
  }
  auto run = run_bounded(elevated_argv(wrapper, {"-u", user, "cp", "--", tmp, path}), std::chrono::seconds(30));
  ::unlink(tmp.c_str());
  if (!run) return run.status();
  if (auto refused = wrapper_refusal(wrapper, user, "cp -- " + tmp + " " + path, *run)) return *refused;
  if (!run->success()) return Status(Errc::io, "cannot write " + path + " as " + user + ": " + run->describe());
  return Status::Ok();
}

std::string user_name_of(uid_t uid) {
  struct passwd pwd {};
  struct passwd* pw = nullptr;
  std::vector<char> buf(16384);
  if (::getpwuid_r(uid, &pwd, buf.data(), buf.size(), &pw) == 0 && pw != nullptr) return pw->pw_name;
  return "";
}

}  // namespace pgm::pg
