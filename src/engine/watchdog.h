// Ends a transfer in which nothing has moved for too long (--stall-timeout), naming the side
// that stalled, so a hung `zfs receive` or a dead link cannot hold a session (and a
// replication slot) open forever.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "common/cancel.h"

namespace pgm::engine {

struct Activity {
  std::uint64_t progress = 0;  // anything that grows while data moves
  std::string stalled_side;    // who to blame if it stops growing now
};

class StallWatchdog {
 public:
  // timeout of zero disables the watchdog.
  StallWatchdog(std::chrono::milliseconds timeout, std::function<Activity()> probe, CancelToken& cancel);
  ~StallWatchdog();
  StallWatchdog(const StallWatchdog&) = delete;
  StallWatchdog& operator=(const StallWatchdog&) = delete;

 private:
  void loop();
  std::chrono::milliseconds timeout_;
  std::function<Activity()> probe_;
  CancelToken& cancel_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace pgm::engine
