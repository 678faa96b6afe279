// --metrics-file PATH: a transfer's (and, through set_extra, a migration's) numbers as a node_exporter
// textfile-collector file (common/metrics), rewritten atomically every kPeriod while the
// command runs and once more as it ends, so that a days-long move is on the team's
// dashboards and alerts. Names and example alerts: docs/metrics.md.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "pgmigrate/session.h"
#include "pgmigrate/status.h"

namespace pgm::session {

// The families of one transfer from one progress sample; `side` is "send" or "recv". Pure.
std::vector<MetricFamily> transfer_families(const std::string& side, const session::ProgressSample& s,
                                            std::optional<std::uint64_t> estimate, double start_time);

class MetricsFile {
 public:
  static constexpr std::chrono::seconds kPeriod{2};

  // `path` "": writes nothing (every method is then a no-op). Otherwise the writer thread
  // starts at once; a file that cannot be written is warned about once, never fatal.
  explicit MetricsFile(std::string path);
  ~MetricsFile();  // writes once more and stops the writer
  MetricsFile(const MetricsFile&) = delete;
  MetricsFile& operator=(const MetricsFile&) = delete;

  bool enabled() const { return !path_.empty(); }
  // A transfer's data moves: `sample` is read from the writer thread until transfer_stopped().
  void transfer_started(const std::string& label, const std::function<session::ProgressSample()>& sample,
                        std::optional<std::uint64_t> estimate);
  // Samples once more (the file keeps the final numbers), then never again.
  void transfer_stopped();
  // How the command (or one of its steps) ended: the time of the last success, or the error
  // counted by its kind.
  void record_outcome(const Status& outcome);
  // More families (migrate's), asked for at every write, on the writer thread.
  void set_extra(std::function<std::vector<MetricFamily>()> extra);
  // Writes now, on the caller's thread.
  void write_now();

 private:
  std::vector<MetricFamily> families();  // REQUIRES: mu_ held
  void loop();

  std::string path_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool warned_ = false;
  std::function<session::ProgressSample()> sample_;
  std::string side_;
  std::optional<session::ProgressSample> last_;
  std::optional<std::uint64_t> estimate_;
  double transfer_start_ = 0;
  double last_success_ = 0;
  std::map<std::string, std::uint64_t> errors_;
  std::function<std::vector<MetricFamily>()> extra_;
  std::thread thread_;
};

}  // namespace pgm::session
