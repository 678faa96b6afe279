#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>

#include "session/describe.h"

namespace pgm::cli {
namespace {

// One report of the ticker, as --progress json or line shows it.
void print_progress(ProgressMode mode, const std::string& label, const ProgressSample& s, const session::ProgressFigures& f, bool final) {
  if (mode == ProgressMode::json) {
    std::fprintf(stderr, "%s\n", session::progress_json(label, s, f, final).dump().c_str());
    return;
  }
  if (final) {
    std::fprintf(stderr, "\r\033[K");
    return;
  }
  std::fprintf(stderr, "\r\033[K%s", session::progress_text(label, s, f).c_str());
  std::fflush(stderr);
}

}  // namespace

ProgressMode parse_progress_mode(const std::string& text, bool quiet) {
  if (quiet || text == "none") return ProgressMode::none;
  if (text == "json") return ProgressMode::json;
  if (text == "line") return ProgressMode::line;
  return ::isatty(2) ? ProgressMode::line : ProgressMode::none;
}

void ProgressView::started(const std::string& label, const std::function<ProgressSample()>& sample, std::optional<std::uint64_t> estimate) {
  ticker_.reset();
  if (mode_ == ProgressMode::json || mode_ == ProgressMode::line) {
    const ProgressMode mode = mode_;
    ticker_.emplace(label, sample, estimate,
                    [mode](const std::string& l, const ProgressSample& s, const session::ProgressFigures& f, bool final) {
                      print_progress(mode, l, s, f, final);
                    });
    ticker_->start();
  }
  if (metrics_ != nullptr) metrics_->transfer_started(label, sample, estimate);
}

void ProgressView::stopped() {
  if (metrics_ != nullptr) metrics_->transfer_stopped();
  if (ticker_) ticker_->stop();
}

}  // namespace pgm::cli
