#include "pg/server_tools.h"
#include "common/errno_text.h"

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

#include "common/units.h"
#include "source/process.h"

namespace pgm::pg {
namespace fs = std::filesystem;
namespace {

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

}  // namespace

Result<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(errno == ENOENT ? Errc::not_found : Errc::io, "cannot read " + path + ": " + errno_text(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<DataDir> inspect_data_dir(const std::string& path) {
  DataDir d;
  std::error_code ec;
  d.path = fs::absolute(path, ec).lexically_normal().string();
  while (d.path.size() > 1 && d.path.back() == '/') d.path.pop_back();
  struct stat st {};
  if (::stat(d.path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return Status(Errc::not_found, "data directory " + d.path + " does not exist: check --pgdata");
  auto ver = read_text_file(d.path + "/PG_VERSION");
  if (!ver) return Status(Errc::invalid_argument, d.path + " is not a Postgres data directory (no PG_VERSION)");
  d.major = std::atoi(trim(*ver).c_str());
  if (d.major < 12 || d.major > 17)
    return Status(Errc::unsupported, d.path + " holds Postgres " + trim(*ver) + "; pgmigrate supports Postgres 12 to 17");
  if (::access((d.path + "/global/pg_control").c_str(), F_OK) != 0)
    return Status(Errc::invalid_argument, d.path + " has no global/pg_control: not a complete data directory");
  d.owner_uid = st.st_uid;
  d.owner_gid = st.st_gid;
  struct passwd pwd {};
  struct passwd* pw = nullptr;
  std::vector<char> buf(16384);
  if (::getpwuid_r(st.st_uid, &pwd, buf.data(), buf.size(), &pw) == 0 && pw != nullptr) d.owner_name = pw->pw_name;
  return d;
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

Result<std::vector<std::string>> run_as_owner_prefix(const DataDir& dir) {
  const uid_t me = ::geteuid();
  if (me == dir.owner_uid) {
    if (me == 0)
      return Status(Errc::invalid_argument, dir.path + " is owned by root; Postgres refuses to run as root: chown it to the postgres user");
    return std::vector<std::string>{};
  }
  if (me != 0)
    return Status(Errc::invalid_argument, dir.path + " belongs to " +
                                              (dir.owner_name.empty() ? std::to_string(dir.owner_uid) : dir.owner_name) +
                                              ": run pgmigrate as that user or as root");
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
          if (run.out.size() < (1u << 20)) run.out.append(buf, static_cast<std::size_t>(n));
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

Result<ControlData> read_controldata(const DataDir& dir, const std::string& bindir) {
  auto run = run_bounded({find_pg_program("pg_controldata", dir.major, bindir), "-D", dir.path}, std::chrono::seconds(30));
  if (!run) return run.status();
  if (!run->success()) return Status(Errc::child_failed, "pg_controldata -D " + dir.path + " " + run->describe());
  ControlData cd = parse_controldata(run->out);
  if (cd.state.empty() || !cd.checkpoint)
    return Status(Errc::child_failed, "could not read the cluster state from pg_controldata -D " + dir.path);
  return cd;
}

std::optional<PostmasterPid> read_postmaster_pid(const std::string& pgdata) {
  auto text = read_text_file(pgdata + "/postmaster.pid");
  if (!text) return std::nullopt;
  std::istringstream in(*text);
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

Status write_owned_file(const std::string& path, const std::string& content, const DataDir& owner, mode_t mode) {
  const std::string tmp = path + ".pgmigrate-tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Status(Errc::io, "cannot write " + tmp + ": " + errno_text(errno));
  std::size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Status(Errc::io, "cannot write " + tmp + ": " + errno_text(e));
    }
    off += static_cast<std::size_t>(n);
  }
  if (::geteuid() == 0 && (::fchown(fd, owner.owner_uid, owner.owner_gid) != 0)) {
    int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return Status(Errc::io, "cannot chown " + tmp + ": " + errno_text(e));
  }
  ::fchmod(fd, mode);
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return Status(Errc::io, "cannot write " + tmp + ": " + errno_text(errno));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return Status(Errc::io, "cannot rename " + tmp + " to " + path + ": " + errno_text(e));
  }
  return Status::Ok();
}

}  // namespace pgm::pg
