#include "common/signals.h"

#include <pthread.h>
#include <signal.h>

#include <spdlog/spdlog.h>
#include <string>

namespace pgm {
namespace {

sigset_t watched_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGUSR1);  // used only to wake the watcher at shutdown
  return set;
}

}  // namespace

void block_signals() {
  sigset_t set = watched_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

SignalWatcher::SignalWatcher(CancelToken& cancel) {
  thread_ = std::thread([&cancel] {
    sigset_t set = watched_set();
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      if (sig == SIGUSR1) return;
      const char* name = sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGHUP";
      cancel.cancel(Status(Errc::interrupted, std::string("interrupted by ") + name));
      // Said when it arrives, not only when the run has wound down: a step that must finish
      // first (a post-hook, a clean-up) can take a while, and the log should show why it ends.
      spdlog::warn("received {}: stopping", name);
    }
  });
}

SignalWatcher::~SignalWatcher() {
  pthread_kill(thread_.native_handle(), SIGUSR1);
  thread_.join();
}

}  // namespace pgm
