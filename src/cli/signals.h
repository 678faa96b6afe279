// Turns SIGINT/SIGTERM/SIGHUP into a cancellation. All signals are blocked in every thread
// (call block_signals() before starting any) and one thread waits for them with sigwait, so
// nothing runs in a signal handler. SIGPIPE is ignored: a closed pipe is an EPIPE error.
#pragma once

#include <thread>

#include "common/cancel.h"

namespace pgm::cli {

void block_signals();

class SignalWatcher {
 public:
  explicit SignalWatcher(CancelToken& cancel);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  std::thread thread_;
};

}  // namespace pgm::cli
