// Turns SIGINT/SIGTERM/SIGHUP into a cancellation. All signals are blocked in every thread
// (call block_signals() before starting any) and one thread waits for them with sigwait, so
// nothing runs in a signal handler. SIGPIPE is ignored: a closed pipe is an EPIPE error.
// Process-wide by nature: one SignalWatcher per process, made by its entry point (cli::run).
#pragma once

#include <thread>

#include "common/cancel.h"

namespace pgm {

// REQUIRES: no other thread has started yet (threads inherit the mask of the one that starts them).
void block_signals();

class SignalWatcher {
 public:
  // The first of SIGINT, SIGTERM, SIGHUP cancels `cancel` ("interrupted by SIGTERM"); later ones
  // only log. `cancel` must outlive the watcher. REQUIRES: block_signals() was called.
  explicit SignalWatcher(CancelToken& cancel);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  std::thread thread_;
};

}  // namespace pgm
