#include "session/progress_ticker.h"

#include <utility>

namespace pgm::session {

ProgressTicker::ProgressTicker(std::string label, std::function<ProgressSample()> sample, std::optional<std::uint64_t> total, Report report,
                               std::chrono::milliseconds interval)
    : label_(std::move(label)), sample_(std::move(sample)), total_(total), report_(std::move(report)), interval_(interval) {
  start_ = last_time_ = std::chrono::steady_clock::now();
}

ProgressTicker::~ProgressTicker() {
  try {
    stop();
  } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor must not throw; nothing left to report
  }
}

void ProgressTicker::start() {
  start_ = last_time_ = std::chrono::steady_clock::now();
  thread_ = std::thread([this] { loop(); });
}

void ProgressTicker::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) {
    thread_.join();
    emit(true);
  }
}

void ProgressTicker::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, interval_);
    if (stopping_) break;
    lock.unlock();
    emit(false);
    lock.lock();
  }
}

void ProgressTicker::emit(bool final) {
  ProgressSample s = sample_();
  auto now = std::chrono::steady_clock::now();
  const double dt = std::chrono::duration<double>(now - last_time_).count();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const ProgressFigures f = progress_figures(s, last_, dt, elapsed, total_);
  last_ = s;
  last_time_ = now;
  report_(label_, s, f, final);
}

}  // namespace pgm::session
