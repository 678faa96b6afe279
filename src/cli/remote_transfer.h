// The cli's side of a transfer: the session library (src/session) does the work; these render
// its progress, keep the metrics file, print its summary.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

#include "cli/command.h"
#include "pgmigrate/session.h"
#include "session/metrics_file.h"
#include "session/settings.h"

namespace pgm::cli {

// What a caller that reports on a transfer itself (migrate) wants of it: its own metrics file
// (null: the transfer writes --metrics-file), the stream position about ten times a second,
// and the summary of a transfer that succeeded.
struct TransferWatch {
  session::MetricsFile* metrics = nullptr;
  std::atomic<std::uint64_t>* position = nullptr;
  session::TransferSummary* summary_out = nullptr;
};

// Runs `transfer` with the progress renderer and the metrics file watching it, records its
// outcome there, and prints its summary.
Status run_observed(RunContext& ctx, const session::TransferSettings& settings, const TransferWatch& watch,
                    const std::function<Result<session::TransferSummary>(session::Observer&)>& transfer);

}  // namespace pgm::cli
