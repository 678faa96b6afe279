#include "common/process.h"
#include "common/errno_text.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>

namespace pgm {
namespace {
constexpr std::size_t kStderrKeep = std::size_t{16} * 1024;
}  // namespace

struct Subprocess::StderrBuffer {
  std::mutex mu;
  std::string text;
};

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           std::string(sigdescr_np(WTERMSIG(status)) ? sigdescr_np(WTERMSIG(status)) : "?") + ")";
  return "ended with wait status " + std::to_string(status);
}

std::string shell_quote(const std::string& word) {
  if (!word.empty() &&
      word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%_+=:,./-") == std::string::npos)
    return word;
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') out += "'\\''";
    else out.push_back(c);
  }
  return out + "'";
}

std::string join_command(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out.push_back(' ');
    out += shell_quote(a);
  }
  return out;
}

Result<std::unique_ptr<Subprocess>> Subprocess::spawn_shell(const std::string& command_line, ProcessSpec spec) {
  spec.argv = {"/bin/sh", "-c", command_line};
  auto p = spawn(spec);
  if (p) (*p)->name_ = command_line;
  return p;
}

Result<std::unique_ptr<Subprocess>> Subprocess::spawn(const ProcessSpec& spec) {
  if (spec.argv.empty()) return Status(Errc::internal, "spawn: empty argv");
  std::unique_ptr<Subprocess> proc(new Subprocess());
  proc->name_ = join_command(spec.argv);

  Pipe in, out;
  if (spec.pipe_stdin) {
    auto p = make_pipe(spec.pipe_size);
    if (!p) return p.status();
    in = std::move(*p);
  }
  if (spec.pipe_stdout) {
    auto p = make_pipe(spec.pipe_size);
    if (!p) return p.status();
    out = std::move(*p);
  }
  auto err = make_pipe(0);
  if (!err) return err.status();
  UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, spec.pipe_stdin ? in.read.get() : devnull.get(), 0);
  if (spec.pipe_stdout) posix_spawn_file_actions_adddup2(&actions, out.write.get(), 1);
  else if (spec.null_stdout) posix_spawn_file_actions_adddup2(&actions, devnull.get(), 1);
  if (spec.stdio_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, spec.stdio_fd, 0);
    posix_spawn_file_actions_adddup2(&actions, spec.stdio_fd, 1);
  }
  posix_spawn_file_actions_adddup2(&actions, err->write.get(), 2);

  // The parent blocks signals (one thread waits for them) and ignores SIGPIPE; the child
  // must start with neither, or `zfs recv` would not die of a closed pipe.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty, defaults;
  sigemptyset(&empty);
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e) env_store.emplace_back(*e);
  for (const auto& e : spec.extra_env) env_store.push_back(e);
  std::vector<char*> envp;
  envp.reserve(env_store.size() + 1);
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<char*> argv;
  std::vector<std::string> args = spec.argv;
  argv.reserve(args.size() + 1);
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return Status(rc == ENOENT ? Errc::not_found : Errc::child_failed, "cannot run '" + spec.argv[0] + "': " + errno_text(rc));
  }
  proc->pid_ = pid;
  proc->stdin_ = std::move(in.write);
  proc->stdout_ = std::move(out.read);
  if (proc->stdin_.valid()) set_nonblocking(proc->stdin_.get(), true);

  proc->stderr_buf_ = std::make_shared<StderrBuffer>();
  proc->stderr_thread_ = std::thread([fd = std::move(err->read), buf = proc->stderr_buf_]() mutable {
    char tmp[4096];
    for (;;) {
      ssize_t n = ::read(fd.get(), tmp, sizeof tmp);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      std::lock_guard<std::mutex> lock(buf->mu);
      buf->text.append(tmp, static_cast<std::size_t>(n));
      if (buf->text.size() > 2 * kStderrKeep) buf->text.erase(0, buf->text.size() - kStderrKeep);
    }
  });
  return proc;
}

Subprocess::~Subprocess() {
  if (pid_ > 0 && !exited_) {
    terminate(1000);
    wait();
  }
  if (stderr_thread_.joinable()) stderr_thread_.join();
}

int Subprocess::wait() {
  if (exited_) {
    // terminate() may have reaped the child; its stderr must still be collected in full.
    if (stderr_thread_.joinable()) stderr_thread_.join();
    return status_;
  }
  stdin_.reset();
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  exited_ = true;
  status_ = status;
  // Grandchildren (a --send-cmd pipeline) may still hold stderr open; stop them first.
  ::kill(-pid_, SIGTERM);
  if (stderr_thread_.joinable()) stderr_thread_.join();
  return status_;
}

void Subprocess::terminate(int grace_ms) {
  if (pid_ <= 0 || exited_) return;
  stdin_.reset();  // zfs-fuse's daemon reads straight from this pipe: closing it stops a receive
  ::kill(-pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      status_ = status;
      return;
    }
    ::usleep(20 * 1000);
  }
  ::kill(-pid_, SIGKILL);
}

std::string Subprocess::stderr_text() const {
  if (!stderr_buf_) return {};
  std::lock_guard<std::mutex> lock(stderr_buf_->mu);
  const std::string& all = stderr_buf_->text;
  std::string s = all.size() > kStderrKeep ? all.substr(all.size() - kStderrKeep) : all;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

Status Subprocess::check_exit(int wait_status) const {
  if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) return Status::Ok();
  std::string msg = "'" + name_ + "' " + describe_wait_status(wait_status);
  std::string err = stderr_text();
  if (!err.empty()) msg += ": " + err;
  return Status(Errc::child_failed, msg);
}

}  // namespace pgm

namespace pgm {

bool CommandOutput::success() const { return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0; }

Result<CommandOutput> run_command(const std::vector<std::string>& argv, std::size_t max_out) {
  ProcessSpec spec;
  spec.argv = argv;
  spec.pipe_stdout = true;
  spec.pipe_size = 0;
  auto proc = Subprocess::spawn(spec);
  if (!proc) return proc.status();
  CommandOutput result;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read((*proc)->stdout_fd().get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (result.out.size() + static_cast<std::size_t>(n) > max_out) {
      // A truncated answer would be parsed as if whole (a shorter list of snapshots): stop
      // the child and say so.
      (*proc)->terminate(1000);
      (void)(*proc)->wait();
      return Status(Errc::child_failed,
                    "'" + (*proc)->name() + "' wrote more than " + std::to_string(max_out) + " bytes on stdout; refusing to read more");
    }
    result.out.append(buf, static_cast<std::size_t>(n));
  }
  result.wait_status = (*proc)->wait();
  result.err = (*proc)->stderr_text();
  return result;
}

}  // namespace pgm
