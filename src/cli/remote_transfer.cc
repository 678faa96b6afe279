#include "cli/remote_transfer.h"

#include <optional>

#include "cli/progress.h"
#include "session/describe.h"

namespace pgm::cli {
namespace {

// The progress renderer (and metrics file), plus the position a caller (migrate) watches.
class PushView : public ProgressView {
 public:
  PushView(ProgressMode mode, session::MetricsFile* metrics, std::atomic<std::uint64_t>* position)
      : ProgressView(mode, metrics), position_(position) {}
  void advanced(std::uint64_t logical_bytes) override {
    if (position_ != nullptr) position_->store(logical_bytes);
  }

 private:
  std::atomic<std::uint64_t>* position_;
};

}  // namespace

Status run_observed(RunContext& ctx, const TransferOptions& topts, session::MetricsFile* shared_metrics,
                    std::atomic<std::uint64_t>* position, TransferSummary* summary_out,
                    const std::function<Result<TransferSummary>(session::Observer&)>& transfer) {
  // A caller with a metrics file of its own (migrate) passes it; else --metrics-file is ours.
  std::optional<session::MetricsFile> own;
  session::MetricsFile* metrics = shared_metrics;
  if (metrics == nullptr) metrics = &own.emplace(topts.metrics_file);
  PushView view(parse_progress_mode(topts.progress, ctx.global.quiet), metrics, position);
  auto sum = transfer(view);
  metrics->record_outcome(sum.status());
  if (!sum) return sum.status();
  if (summary_out != nullptr) *summary_out = *sum;
  if (!ctx.global.quiet) print_lines(stderr, session::summary_lines(*sum));
  return Status::Ok();
}

Status push_to_remote(RunContext& ctx, const source::SourceSpec& source, const sink::SinkSpec& remote_sink, const ResolvedTransfer& t,
                      const TransferOptions& topts, const RemoteOptions& remote) {
  return run_observed(ctx, topts, remote.metrics, remote.position, remote.summary_out,
                      [&](session::Observer& view) { return session::push(source, remote_sink, t, remote, view, ctx.cancel); });
}

Status pull_from_remote(RunContext& ctx, const source::SourceSpec& requested_source, const sink::SinkSpec& sink, const ResolvedTransfer& t,
                        const TransferOptions& topts, const RemoteOptions& remote) {
  return run_observed(ctx, topts, remote.metrics, nullptr, nullptr,
                      [&](session::Observer& view) { return session::pull(requested_source, sink, t, remote, view, ctx.cancel); });
}

}  // namespace pgm::cli
