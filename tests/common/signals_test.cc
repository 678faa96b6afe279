// SignalWatcher turns a signal into a cancellation, and StdinWatch the end of stdin. Each runs
// in a forked child: the signal mask and fd 0 belong to the whole process, and the test binary's
// must stay as they are.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>

#include "common/signals.h"
#include "common/stdin_watch.h"

namespace pgm {
namespace {

// Runs `body` in a child process; its return value is the child's exit code (0: passed).
int in_child(const std::function<int()>& body) {
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) ::_exit(body());
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

TEST(SignalWatcher, SigtermCancelsTheToken) {
  const int code = in_child([] {
    block_signals();
    CancelToken cancel;
    SignalWatcher watcher(cancel);
    ::kill(::getpid(), SIGTERM);  // blocked everywhere: only the watcher's sigwait takes it
    if (cancel.wait_for(std::chrono::seconds(10))) return 1;
    if (cancel.reason().code() != Errc::interrupted) return 2;
    if (cancel.reason().message() != "interrupted by SIGTERM") return 3;
    return 0;
  });
  EXPECT_EQ(code, 0);
}

TEST(SignalWatcher, EndsWithoutASignal) {
  const int code = in_child([] {
    block_signals();
    CancelToken cancel;
    { SignalWatcher watcher(cancel); }
    return cancel.cancelled() ? 1 : 0;
  });
  EXPECT_EQ(code, 0);
}

TEST(StdinWatch, ClosedStdinCancels) {
  const int code = in_child([] {
    int fds[2];
    if (::pipe(fds) != 0 || ::dup2(fds[0], 0) < 0) return 10;
    ::close(fds[0]);
    CancelToken cancel;
    StdinWatch watch(cancel);
    if (::write(fds[1], "data", 4) != 4) return 11;  // read and dropped: not an end
    if (!cancel.wait_for(std::chrono::milliseconds(100))) return 1;
    ::close(fds[1]);
    if (cancel.wait_for(std::chrono::seconds(10))) return 2;
    return cancel.reason().code() == Errc::interrupted ? 0 : 3;
  });
  EXPECT_EQ(code, 0);
}

TEST(StdinWatch, EndsWithoutCancelling) {
  const int code = in_child([] {
    int fds[2];
    if (::pipe(fds) != 0 || ::dup2(fds[0], 0) < 0) return 10;
    CancelToken cancel;
    { StdinWatch watch(cancel); }
    return cancel.cancelled() ? 1 : 0;
  });
  EXPECT_EQ(code, 0);
}

}  // namespace
}  // namespace pgm
