// Progress for a running transfer: a live line on a terminal, one JSON object per second
// with --progress json, nothing with --quiet. Everything goes to stderr, because stdout may
// carry the stream itself (`send ... -`). The once-a-second sampling is session's
// (session/progress_ticker.h); this file only chooses the form and prints.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "pgmigrate/session.h"
#include "session/metrics_file.h"
#include "session/progress_ticker.h"

namespace pgm::cli {

enum class ProgressMode { automatic, none, json, line };

using session::ProgressSample;

ProgressMode parse_progress_mode(const std::string& text, bool quiet);

// The renderer of a session's progress: a ticker for each transfer the session starts, whose
// reports it prints in `mode` (json, line; none and automatic print nothing).
class ProgressView : public session::Observer {
 public:
  explicit ProgressView(ProgressMode mode, session::MetricsFile* metrics = nullptr) : mode_(mode), metrics_(metrics) {}
  void started(const std::string& label, const std::function<ProgressSample()>& sample, std::optional<std::uint64_t> estimate) override;
  void stopped() override;

 private:
  ProgressMode mode_;
  session::MetricsFile* metrics_;  // --metrics-file, if any: samples the same transfer
  std::optional<session::ProgressTicker> ticker_;
};

}  // namespace pgm::cli
