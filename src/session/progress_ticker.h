// A running transfer's progress, sampled once a second: a thread reads the observer's sampler
// and hands each sample, with the figures since the previous one (session/describe.h), to a
// callback; once more, marked final, when it stops. The callback decides what a user sees
// (cli/progress.h prints it); nothing here prints.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "pgmigrate/session.h"
#include "session/describe.h"

namespace pgm::session {

class ProgressTicker {
 public:
  // Called on the ticker's thread every interval, then once with `final` on the thread that
  // calls stop(); never two at once.
  using Report = std::function<void(const std::string& label, const ProgressSample& sample, const ProgressFigures& figures, bool final)>;

  // `sample` as Observer::started gives it; `total`: the estimate of the logical size (for
  // the ETA), if known.
  ProgressTicker(std::string label, std::function<ProgressSample()> sample, std::optional<std::uint64_t> total, Report report,
                 std::chrono::milliseconds interval = std::chrono::seconds(1));
  ~ProgressTicker();  // stop()
  ProgressTicker(const ProgressTicker&) = delete;
  ProgressTicker& operator=(const ProgressTicker&) = delete;

  // Starts the thread; the clock (elapsed time, the first rate) starts now.
  void start();
  // Ends the thread and, if start() ran, reports once more with `final`. Idempotent.
  void stop();

 private:
  void loop();
  void emit(bool final);

  std::string label_;
  std::function<ProgressSample()> sample_;
  std::optional<std::uint64_t> total_;
  Report report_;
  std::chrono::milliseconds interval_;
  std::chrono::steady_clock::time_point start_;
  ProgressSample last_;  // the previous report's sample (rates since then)
  std::chrono::steady_clock::time_point last_time_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace pgm::session
