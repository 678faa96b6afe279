// What a user sees of a transfer: the progress line or JSON event while it runs and the closing
// summary, worded here beside the session's types so that the cli only prints (text lines
// without their newline, and JSON). Pure; nothing prints.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pgmigrate/session.h"

namespace pgm::session {

// What one progress report shows beyond its sample: rates since the previous report, the
// compression ratio and, with an expected size, the time left at the mean rate.
struct ProgressFigures {
  double elapsed_s = 0;
  double rate = 0;   // logical bytes per second since the previous report
  double ratio = 1;  // logical / wire bytes
  std::vector<double> lane_rates;
  std::optional<std::uint64_t> total;  // the expected logical size, if known
  std::optional<double> eta_s;
};

// The figures of `now`, `dt` seconds after the report of `before` and `elapsed_s` after the
// transfer began.
ProgressFigures progress_figures(const ProgressSample& now, const ProgressSample& before, double dt, double elapsed_s,
                                 std::optional<std::uint64_t> total);

// --progress json: one "progress" event (or "done" for the last one).
nlohmann::json progress_json(const std::string& label, const ProgressSample& s, const ProgressFigures& f, bool final);
// --progress line: "LABEL: BYTES / ~TOTAL, wire BYTES (RATIOx), RATE [per-lane MB/s], ETA".
std::string progress_text(const std::string& label, const ProgressSample& s, const ProgressFigures& f);

// The closing summary of a transfer that succeeded, "pgmigrate: ..." lines for stderr.
std::vector<std::string> summary_lines(const TransferSummary& s);

}  // namespace pgm::session
