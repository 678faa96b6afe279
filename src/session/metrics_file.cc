#include "session/metrics_file.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "journal/journal.h"

namespace pgm::session {
namespace {

// A family of one sample; short, for the many families below.
template <typename... Args>
MetricFamily one(Args&&... args) {
  return single_metric(std::forward<Args>(args)...);
}

// The `kind` label of pgmigrate_errors_total: the error class as an identifier.
const char* error_kind(Errc code) {
  switch (code) {
    case Errc::ok: return "ok";
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::io: return "io";
    case Errc::corrupt: return "corrupt";
    case Errc::truncated: return "truncated";
    case Errc::child_failed: return "child_failed";
    case Errc::network: return "network";
    case Errc::auth: return "auth";
    case Errc::host_key: return "host_key";
    case Errc::not_found: return "not_found";
    case Errc::exists: return "exists";
    case Errc::no_space: return "no_space";
    case Errc::timeout: return "timeout";
    case Errc::interrupted: return "interrupted";
    case Errc::protocol: return "protocol";
    case Errc::unsupported: return "unsupported";
    case Errc::postgres: return "postgres";
    case Errc::internal: return "internal";
  }
  return "internal";
}

constexpr auto kCounter = MetricFamily::Type::counter;
constexpr auto kGauge = MetricFamily::Type::gauge;

}  // namespace

std::vector<MetricFamily> transfer_families(const std::string& side, const session::ProgressSample& s,
                                            std::optional<std::uint64_t> estimate, double start_time) {
  const std::vector<std::pair<std::string, std::string>> l{{"side", side}};
  auto d = [](std::uint64_t v) { return static_cast<double>(v); };
  std::vector<MetricFamily> out;
  if (side == "send")
    out.push_back(one("pgmigrate_transfer_read_bytes_total", "Stream bytes read from the source (zfs send or --send-cmd)", kCounter,
                      d(s.logical_bytes), l));
  else
    out.push_back(one("pgmigrate_transfer_written_bytes_total", "Stream bytes written to the target (zfs receive or --recv-cmd)", kCounter,
                      d(s.logical_bytes), l));
  out.push_back(
      one("pgmigrate_transfer_wire_bytes_total", "Chunk payload bytes on the wire (after compression)", kCounter, d(s.wire_bytes), l));
  if (!s.lane_bytes.empty()) {
    std::uint64_t total = 0;
    for (auto b : s.lane_bytes) total += b;
    out.push_back(
        one("pgmigrate_transfer_lane_bytes_total", "Bytes the data connections carried, resends included", kCounter, d(total), l));
  }
  out.push_back(one("pgmigrate_transfer_chunks_total", "Chunks taken from the source (send) or written to the target (recv)", kCounter,
                    d(s.chunks), l));
  out.push_back(one("pgmigrate_transfer_resent_bytes_total", "Bytes sent again after a data connection dropped or a chunk failed its check",
                    kCounter, d(s.resent_bytes), l));
  out.push_back(one("pgmigrate_transfer_connection_drops_total", "Data connections lost while the transfer ran", kCounter, d(s.drops), l));
  out.push_back(one("pgmigrate_transfer_reconnects_total", "Data connections made again after one dropped", kCounter, d(s.reconnects), l));
  if (s.lanes_up) out.push_back(one("pgmigrate_transfer_lanes_up", "Data connections carrying data now", kGauge, d(*s.lanes_up), l));
  out.push_back(one("pgmigrate_transfer_rate_limit_bytes_per_second", "The sender's cap on wire bytes per second (--rate); 0: none", kGauge,
                    d(s.rate_limit), l));
  out.push_back(one("pgmigrate_transfer_compression_ratio", "Stream bytes per wire byte so far", kGauge,
                    s.wire_bytes > 0 ? d(s.logical_bytes) / d(s.wire_bytes) : 1.0, l));
  if (estimate)
    out.push_back(one("pgmigrate_transfer_estimated_bytes", "The stream's expected size (zfs send -n)", kGauge, d(*estimate), l));
  out.push_back(
      one("pgmigrate_transfer_start_time_seconds", "When the transfer's data started to move (unix time)", kGauge, start_time, l));
  return out;
}

MetricsFile::MetricsFile(std::string path) : path_(std::move(path)) {
  if (path_.empty()) return;
  write_now();
  thread_ = std::thread([this] { loop(); });
}

MetricsFile::~MetricsFile() {
  if (path_.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  write_now();
}

void MetricsFile::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, kPeriod);
    if (stopping_) break;
    lock.unlock();
    write_now();
    lock.lock();
  }
}

void MetricsFile::transfer_started(const std::string& label, const std::function<session::ProgressSample()>& sample,
                                   std::optional<std::uint64_t> estimate) {
  if (path_.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    sample_ = sample;
    side_ = label;
    estimate_ = estimate;
    transfer_start_ = journal::unix_now();
  }
  write_now();
}

void MetricsFile::transfer_stopped() {
  if (path_.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (sample_) last_ = sample_();
  sample_ = nullptr;
}

void MetricsFile::record_outcome(const Status& outcome) {
  if (path_.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (outcome.ok()) last_success_ = journal::unix_now();
    else ++errors_[error_kind(outcome.code())];
  }
  write_now();
}

void MetricsFile::set_extra(std::function<std::vector<MetricFamily>()> extra) {
  std::lock_guard<std::mutex> lock(mu_);
  extra_ = std::move(extra);
}

std::vector<MetricFamily> MetricsFile::families() {
  std::vector<MetricFamily> out;
  if (sample_) last_ = sample_();
  if (last_) out = transfer_families(side_, *last_, estimate_, transfer_start_);
  out.push_back(one("pgmigrate_transfer_running", "1 while a transfer's data moves", kGauge, sample_ ? 1 : 0));
  out.push_back(one("pgmigrate_last_success_time_seconds", "When the command (or a migrate step) last succeeded (unix time); 0: not yet",
                    kGauge, last_success_));
  MetricFamily errors;
  errors.name = "pgmigrate_errors_total";
  errors.help = "Failures by kind (the error classes of the exit codes)";
  errors.type = kCounter;
  for (const auto& [kind, n] : errors_) errors.samples.push_back(MetricSample{{{"kind", kind}}, static_cast<double>(n)});
  out.push_back(std::move(errors));
  if (extra_)
    for (auto& f : extra_()) out.push_back(std::move(f));
  return out;
}

void MetricsFile::write_now() {
  if (path_.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (Status s = write_metrics_file(path_, families()); !s.ok() && !warned_) {
    warned_ = true;
    spdlog::warn("--metrics-file: {}", s.message());
  }
}

}  // namespace pgm::session
