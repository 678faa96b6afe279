#include "engine/watchdog.h"

#include "common/units.h"

namespace pgm::engine {

StallWatchdog::StallWatchdog(std::chrono::milliseconds timeout, std::function<Activity()> probe, CancelToken& cancel)
    : timeout_(timeout), probe_(std::move(probe)), cancel_(cancel) {
  if (timeout_.count() > 0) thread_ = std::thread([this] { loop(); });
}

StallWatchdog::~StallWatchdog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void StallWatchdog::loop() {
  using clock = std::chrono::steady_clock;
  const auto tick = std::min<std::chrono::milliseconds>(std::chrono::milliseconds(500), timeout_ / 4 + std::chrono::milliseconds(1));
  Activity last = probe_();
  auto last_change = clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_ && !cancel_.cancelled()) {
    cv_.wait_for(lock, tick);
    if (stop_) break;
    Activity now = probe_();
    if (now.progress != last.progress) {
      last = now;
      last_change = clock::now();
      continue;
    }
    if (clock::now() - last_change >= timeout_) {
      cancel_.cancel(Status(Errc::timeout, "no data moved for " + format_duration(std::chrono::duration<double>(timeout_).count()) + ": " +
                                               now.stalled_side + " (--stall-timeout)"));
      break;
    }
  }
}

}  // namespace pgm::engine
