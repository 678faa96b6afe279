#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/units.h"

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
  double dt = std::chrono::duration<double>(now - last_time_).count();
  double elapsed = std::chrono::duration<double>(now - start_).count();
  double rate = dt > 0 ? static_cast<double>(s.logical_bytes - last_bytes_) / dt : 0;
  double mean = elapsed > 0 ? static_cast<double>(s.logical_bytes) / elapsed : 0;
  double ratio = s.wire_bytes > 0 ? static_cast<double>(s.logical_bytes) / static_cast<double>(s.wire_bytes) : 1.0;
  std::vector<double> lane_rates;
  for (std::size_t i = 0; i < s.lane_bytes.size(); ++i) {
    std::uint64_t prev = i < last_lanes_.size() ? last_lanes_[i] : 0;
    lane_rates.push_back(dt > 0 ? static_cast<double>(s.lane_bytes[i] - prev) / dt : 0);
  }
  std::optional<double> eta;
  if (total_ && mean > 0 && *total_ > s.logical_bytes) eta = static_cast<double>(*total_ - s.logical_bytes) / mean;
  last_bytes_ = s.logical_bytes;
  last_lanes_ = s.lane_bytes;
  last_time_ = now;

  if (mode_ == ProgressMode::json) {
    nlohmann::json j;
    j["event"] = final ? "done" : "progress";
    j["label"] = label_;
    j["elapsed_s"] = elapsed;
    j["logical_bytes"] = s.logical_bytes;
    j["wire_bytes"] = s.wire_bytes;
    j["chunks"] = s.chunks;
    j["rate_bps"] = rate;
    j["ratio"] = ratio;
    j["lane_rates_bps"] = lane_rates;
    j["drops"] = s.drops;
    j["reconnects"] = s.reconnects;
    j["resent_bytes"] = s.resent_bytes;
    j["rate_limit_bps"] = s.rate_limit;  // 0: no cap
    if (!s.session.empty()) j["session"] = s.session;
    if (total_) j["total_estimate_bytes"] = *total_;
    if (eta) j["eta_s"] = *eta;
    std::fprintf(stderr, "%s\n", j.dump().c_str());
    return;
  }
  if (final) {
    std::fprintf(stderr, "\r\033[K");
    return;
  }
  std::string line = label_ + ": " + format_bytes(static_cast<double>(s.logical_bytes));
  if (total_) line += " / ~" + format_bytes(static_cast<double>(*total_));
  line += ", wire " + format_bytes(static_cast<double>(s.wire_bytes));
  char buf[32];
  std::snprintf(buf, sizeof buf, " (%.2fx)", ratio);
  line += buf;
  line += ", " + format_rate(rate);
  if (s.rate_limit != 0) line += " (cap " + format_rate(static_cast<double>(s.rate_limit)) + ")";
  if (lane_rates.size() > 1) {
    line += " [";
    for (std::size_t i = 0; i < lane_rates.size(); ++i) {
      std::snprintf(buf, sizeof buf, "%s%.0f", i ? " " : "", lane_rates[i] / 1e6);
      line += buf;
    }
    line += " MB/s]";
  }
  if (s.reconnects) line += ", reconnects " + std::to_string(s.reconnects);
  if (eta) line += ", ETA " + format_duration(*eta);
  std::fprintf(stderr, "\r\033[K%s", line.c_str());
  std::fflush(stderr);
}

}  // namespace pgm::cli
