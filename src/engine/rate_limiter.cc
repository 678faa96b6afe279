#include "engine/rate_limiter.h"

#include <algorithm>

namespace pgm::engine {

namespace {
double burst_of(std::uint64_t rate) { return static_cast<double>(rate) / 4; }
}  // namespace

RateLimiter::RateLimiter(std::uint64_t bytes_per_second) : rate_(bytes_per_second) {}

void RateLimiter::refill(Clock::time_point now) {
  if (!started_) {
    // A new transfer starts with a full burst, not with a second's worth of saved tokens.
    started_ = true;
    last_ = now;
    tokens_ = burst_of(rate_);
    return;
  }
  if (now <= last_) return;
  const double elapsed = std::chrono::duration<double>(now - last_).count();
  tokens_ = std::min(burst_of(rate_), tokens_ + elapsed * static_cast<double>(rate_));
  last_ = now;
}

void RateLimiter::set_rate(std::uint64_t bytes_per_second, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  refill(now);  // what accrued so far accrued at the old rate
  rate_ = bytes_per_second;
  if (rate_ != 0) tokens_ = std::min(tokens_, burst_of(rate_));
}

std::uint64_t RateLimiter::rate() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rate_;
}

std::chrono::nanoseconds RateLimiter::reserve(std::uint64_t bytes, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (rate_ == 0) return std::chrono::nanoseconds(0);
  refill(now);
  tokens_ -= static_cast<double>(bytes);
  if (tokens_ >= 0) return std::chrono::nanoseconds(0);
  return std::chrono::nanoseconds(static_cast<std::int64_t>(-tokens_ / static_cast<double>(rate_) * 1e9));
}

bool RateLimiter::acquire(std::uint64_t bytes, const CancelToken& cancel) {
  const auto wait = reserve(bytes, Clock::now());
  if (wait.count() == 0) return !cancel.cancelled();
  return cancel.wait_for(wait);
}

}  // namespace pgm::engine
