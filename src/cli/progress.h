// Progress for a running transfer: a live line on a terminal, one JSON object per second
// with --progress json, nothing with --quiet. Everything goes to stderr, because stdout may
// carry the stream itself (`send ... -`).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "pgmigrate/session.h"
#include "session/metrics_file.h"

namespace pgm::cli {

enum class ProgressMode { automatic, none, json, line };

using session::ProgressSample;

class Progress {
 public:
  // `total` is an estimate of the logical size (for ETA), if known.
  Progress(ProgressMode mode, std::string label, std::function<ProgressSample()> sample, std::optional<std::uint64_t> total);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void start();
  void stop();
  double elapsed_seconds() const;
  ProgressMode mode() const { return mode_; }

 private:
  void loop();
  void emit(bool final);

  ProgressMode mode_;
  std::string label_;
  std::function<ProgressSample()> sample_;
  std::optional<std::uint64_t> total_;
  std::chrono::steady_clock::time_point start_;
  ProgressSample last_;  // the previous report's sample (rates since then)
  std::chrono::steady_clock::time_point last_time_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

ProgressMode parse_progress_mode(const std::string& text, bool quiet);

// The renderer of a session's progress: a Progress for each transfer the session starts.
class ProgressView : public session::Observer {
 public:
  explicit ProgressView(ProgressMode mode, session::MetricsFile* metrics = nullptr) : mode_(mode), metrics_(metrics) {}
  void started(const std::string& label, const std::function<ProgressSample()>& sample, std::optional<std::uint64_t> estimate) override;
  void stopped() override;

 private:
  ProgressMode mode_;
  session::MetricsFile* metrics_;  // --metrics-file, if any: samples the same transfer
  std::optional<Progress> progress_;
};

}  // namespace pgm::cli
