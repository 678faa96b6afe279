#include "migrate/sampler.h"

#include <utility>

namespace pgm::migrate {

Sampler::Sampler(std::chrono::milliseconds period, std::function<bool()> tick, bool delay_first)
    : period_(period), tick_(std::move(tick)), delay_first_(delay_first), thread_([this] { loop(); }) {}

Sampler::~Sampler() { stop(); }

void Sampler::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::uint64_t Sampler::ticks() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ticks_;
}

void Sampler::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  if (delay_first_) cv_.wait_for(lock, period_, [this] { return stopping_; });
  while (!stopping_) {
    lock.unlock();
    const bool more = tick_();
    lock.lock();
    ++ticks_;
    if (!more) return;
    cv_.wait_for(lock, period_, [this] { return stopping_; });
  }
}

TransferReporter::TransferReporter(StateFile& state, std::string snapshot, const std::atomic<std::uint64_t>& position,
                                   std::chrono::milliseconds period)
    : state_(state),
      snapshot_(std::move(snapshot)),
      position_(position),
      sampler_(
          period, [this] { return report(); }, true) {}

bool TransferReporter::report() {
  // Only the sampler's thread runs this: last_ and last_bytes_ are its own.
  const auto now = std::chrono::steady_clock::now();
  const std::uint64_t b = position_.load();
  const double seconds = std::chrono::duration<double>(now - last_).count();
  const double rate = seconds > 0 && b >= last_bytes_ ? static_cast<double>(b - last_bytes_) / seconds : 0.0;
  (void)state_.record_transfer({snapshot_, b, rate});  // a failed write is repeated by the next one
  last_ = now;
  last_bytes_ = b;
  return true;
}

void TransferReporter::finish() {
  sampler_.stop();
  state_.change([](State& s) { s.transfer.reset(); });
}

SlotSampler::SlotSampler(StateFile& state, std::function<std::optional<std::uint64_t>()> sample, std::chrono::milliseconds period)
    : state_(state), sample_(std::move(sample)), sampler_(period, [this] {
        if (auto retained = sample_()) state_.record_slot_retained(*retained);
        return true;
      }) {}

Status SlotSampler::finish() {
  sampler_.stop();
  return state_.save();
}

}  // namespace pgm::migrate
