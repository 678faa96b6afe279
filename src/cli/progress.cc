#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>

#include "session/describe.h"

namespace pgm::cli {

ProgressMode parse_progress_mode(const std::string& text, bool quiet) {
  if (quiet || text == "none") return ProgressMode::none;
  if (text == "json") return ProgressMode::json;
  if (text == "line") return ProgressMode::line;
  return ::isatty(2) ? ProgressMode::line : ProgressMode::none;
}

void ProgressView::started(const std::string& label, const std::function<ProgressSample()>& sample, std::optional<std::uint64_t> estimate) {
  progress_.reset();
  progress_.emplace(mode_, label, sample, estimate);
  progress_->start();
  if (metrics_ != nullptr) metrics_->transfer_started(label, sample, estimate);
}

void ProgressView::stopped() {
  if (metrics_ != nullptr) metrics_->transfer_stopped();
  if (progress_) progress_->stop();
}

Progress::Progress(ProgressMode mode, std::string label, std::function<ProgressSample()> sample, std::optional<std::uint64_t> total)
    : mode_(mode), label_(std::move(label)), sample_(std::move(sample)), total_(total) {
  start_ = last_time_ = std::chrono::steady_clock::now();
}

Progress::~Progress() {
  try {
    stop();
  } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor must not throw; nothing left to report
  }
}

double Progress::elapsed_seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

void Progress::start() {
  start_ = last_time_ = std::chrono::steady_clock::now();
  if (mode_ == ProgressMode::none || mode_ == ProgressMode::automatic) return;
  thread_ = std::thread([this] { loop(); });
}

void Progress::stop() {
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

void Progress::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::seconds(1));
    if (stopping_) break;
    lock.unlock();
    emit(false);
    lock.lock();
  }
}

void Progress::emit(bool final) {
  ProgressSample s = sample_();
  auto now = std::chrono::steady_clock::now();
  const double dt = std::chrono::duration<double>(now - last_time_).count();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const session::ProgressFigures f = session::progress_figures(s, last_, dt, elapsed, total_);
  last_ = s;
  last_time_ = now;
  if (mode_ == ProgressMode::json) {
    std::fprintf(stderr, "%s\n", session::progress_json(label_, s, f, final).dump().c_str());
    return;
  }
  if (final) {
    std::fprintf(stderr, "\r\033[K");
    return;
  }
  std::fprintf(stderr, "\r\033[K%s", session::progress_text(label_, s, f).c_str());
  std::fflush(stderr);
}

}  // namespace pgm::cli
