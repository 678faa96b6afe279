// Child processes (zfs send, zfs recv, --send-cmd/--recv-cmd, pg_ctl): spawned with pipes,
// in their own process group so that stopping them stops their pipelines too, with stderr
// collected for the error message.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/fd.h"
#include "pgmigrate/status.h"

namespace pgm {

struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH
  bool pipe_stdin = false;        // else /dev/null
  bool pipe_stdout = false;       // else inherited... unless null_stdout
  bool null_stdout = false;
  std::size_t pipe_size = 1 << 20;
  std::vector<std::string> extra_env;  // "NAME=value" added to the environment
  // >= 0: this fd (one end of a socketpair) becomes both stdin and stdout, for a proxy
  // process that carries a connection; overrides the stdin/stdout choices above.
  int stdio_fd = -1;
};

// "exited with status 2", "killed by signal 9 (Killed)".
std::string describe_wait_status(int status);
// The argv quoted for humans and for /bin/sh.
std::string shell_quote(const std::string& word);
std::string join_command(const std::vector<std::string>& argv);

class Subprocess {
 public:
  static Result<std::unique_ptr<Subprocess>> spawn(const ProcessSpec& spec);
  // Runs /bin/sh -c `command_line`.
  static Result<std::unique_ptr<Subprocess>> spawn_shell(const std::string& command_line, ProcessSpec spec);
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& name() const { return name_; }
  UniqueFd& stdin_fd() { return stdin_; }
  UniqueFd& stdout_fd() { return stdout_; }

  // Waits for exit; returns the raw wait status. Collects all of stderr first.
  int wait();
  bool exited() const { return exited_; }
  // SIGTERM to the child's process group (then SIGKILL after `grace_ms`) unless it has exited.
  void terminate(int grace_ms = 2000);
  // Up to the last 16 KiB the child wrote to stderr, trimmed.
  std::string stderr_text() const;
  // Ok if the child exited 0, else Errc::child_failed with its status and stderr.
  Status check_exit(int wait_status) const;

 private:
  Subprocess() = default;
  pid_t pid_ = -1;
  std::string name_;
  UniqueFd stdin_, stdout_;
  struct StderrBuffer;
  std::shared_ptr<StderrBuffer> stderr_buf_;
  std::thread stderr_thread_;
  bool exited_ = false;
  int status_ = 0;
};

}  // namespace pgm

namespace pgm {
// The most stdout of a short command (or a far command's answer) read into memory: they
// print JSON or lists, far below this; more means something is wrong, and is an error
// rather than a silent truncation.
inline constexpr std::size_t kMaxCommandOutput = std::size_t{16} << 20;

struct CommandOutput {
  int wait_status = 0;
  std::string out;  // stdout
  std::string err;  // stderr (trimmed)
  bool success() const;
};
// Runs argv to completion, collecting stdout and the tail of stderr. For short commands such
// as `zfs get`; never for the data path. Errc::child_failed (the child stopped) when stdout
// exceeds `max_out`.
Result<CommandOutput> run_command(const std::vector<std::string>& argv, std::size_t max_out = kMaxCommandOutput);
}  // namespace pgm
