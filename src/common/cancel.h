// A cancellation signal that blocking I/O can wait on. Threads blocked in poll() on a pipe or
// socket also poll fd(), so cancel() wakes every one of them at once without closing fds
// under their feet (which would race with fd reuse).
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>

#include "pgmigrate/status.h"

namespace pgm {

class CancelToken {
 public:
  CancelToken();
  ~CancelToken();
  CancelToken(const CancelToken&) = delete;
  CancelToken& operator=(const CancelToken&) = delete;

  // Records the first reason given; later calls keep it. Thread-safe, idempotent.
  void cancel(Status reason);
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }
  // The reason passed to the first cancel(), or Ok if not cancelled.
  Status reason() const;
  // Readable once cancelled; never read from it.
  int fd() const { return event_fd_; }
  // Sleeps for `d` unless cancelled first; true if the whole time passed (not cancelled).
  // Replaces sleep-and-poll loops: a cancel wakes it at once.
  bool wait_for(std::chrono::nanoseconds d) const;

 private:
  int event_fd_ = -1;
  std::atomic<bool> cancelled_{false};
  mutable std::mutex mu_;
  Status reason_;
};

// Cancels `child` (with the parent's reason) once `parent` is cancelled, for as long as the
// link lives: a retry loop gives each attempt its own token, so that ending one attempt
// does not end the run, while a signal still ends every attempt.
class CancelLink {
 public:
  CancelLink(const CancelToken& parent, CancelToken& child);
  ~CancelLink();
  CancelLink(const CancelLink&) = delete;
  CancelLink& operator=(const CancelLink&) = delete;

 private:
  CancelToken stop_;
  std::thread thread_;
};

}  // namespace pgm
