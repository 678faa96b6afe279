#include "cli/remote_transfer.h"

#include "cli/progress.h"

namespace pgm::cli {
namespace {

// The progress renderer, plus the position a caller (migrate) watches.
class PushView : public ProgressView {
 public:
  PushView(ProgressMode mode, std::atomic<std::uint64_t>* position) : ProgressView(mode), position_(position) {}
  void advanced(std::uint64_t logical_bytes) override {
    if (position_ != nullptr) position_->store(logical_bytes);
  }

 private:
  std::atomic<std::uint64_t>* position_;
};

}  // namespace

Status push_to_remote(RunContext& ctx, const source::SourceSpec& source, const sink::SinkSpec& remote_sink, const ResolvedTransfer& t,
                      const TransferOptions& topts, const RemoteOptions& remote) {
  PushView view(parse_progress_mode(topts.progress, ctx.global.quiet), remote.position);
  auto sum = session::push(source, remote_sink, t, remote, view, ctx.cancel);
  if (!sum) return sum.status();
  if (remote.summary_out != nullptr) *remote.summary_out = *sum;
  print_summary(*sum, ctx.global.quiet);
  return Status::Ok();
}

Status pull_from_remote(RunContext& ctx, const source::SourceSpec& requested_source, const sink::SinkSpec& sink, const ResolvedTransfer& t,
                        const TransferOptions& topts, const RemoteOptions& remote) {
  ProgressView view(parse_progress_mode(topts.progress, ctx.global.quiet));
  auto sum = session::pull(requested_source, sink, t, remote, view, ctx.cancel);
  if (!sum) return sum.status();
  print_summary(*sum, ctx.global.quiet);
  return Status::Ok();
}

}  // namespace pgm::cli
