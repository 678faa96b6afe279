#include "cli/remote_transfer.h"

#include <optional>

#include "cli/progress.h"
#include "session/describe.h"

namespace pgm::cli {
namespace {

// The progress renderer (and metrics file), plus the position a caller (migrate) watches.
class WatchedView : public ProgressView {
 public:
  WatchedView(ProgressMode mode, session::MetricsFile* metrics, std::atomic<std::uint64_t>* position)
      : ProgressView(mode, metrics), position_(position) {}
  void advanced(std::uint64_t logical_bytes) override {
    if (position_ != nullptr) position_->store(logical_bytes);
  }

 private:
  std::atomic<std::uint64_t>* position_;
};

}  // namespace

Status run_observed(RunContext& ctx, const session::TransferSettings& settings, const TransferWatch& watch,
                    const std::function<Result<session::TransferSummary>(session::Observer&)>& transfer) {
  std::optional<session::MetricsFile> own;
  session::MetricsFile* metrics = watch.metrics;
  if (metrics == nullptr) metrics = &own.emplace(settings.metrics_file);
  WatchedView view(parse_progress_mode(settings.progress, ctx.global.quiet), metrics, watch.position);
  auto sum = transfer(view);
  metrics->record_outcome(sum.status());
  if (!sum) return sum.status();
  if (watch.summary_out != nullptr) *watch.summary_out = *sum;
  if (!ctx.global.quiet) print_lines(stderr, session::summary_lines(*sum));
  return Status::Ok();
}

}  // namespace pgm::cli
