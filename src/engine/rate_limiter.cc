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
  const bool was_unlimited = rate_ == 0;
  refill(now);  // what accrued so far accrued at the old rate
  rate_ = bytes_per_second;
  if (rate_ == 0) return;
  if (was_unlimited) {
    // Unlimited owed nothing (its lanes went at once): start afresh, as a new transfer does.
    started_ = false;
    refill(now);
    return;
  }
  tokens_ = std::min(tokens_, burst_of(rate_));
}

std::uint64_t RateLimiter::rate() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rate_;
}

std::chrono::nanoseconds RateLimiter::wait_of(double position) const {
  const double owed = position - (reserved_ + tokens_);
  if (owed <= 0) return std::chrono::nanoseconds(0);
  return std::chrono::nanoseconds(static_cast<std::int64_t>(owed / static_cast<double>(rate_) * 1e9));
}

RateLimiter::Ticket RateLimiter::take(std::uint64_t bytes, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (rate_ == 0) return {};
  refill(now);
  tokens_ -= static_cast<double>(bytes);
  reserved_ += static_cast<double>(bytes);
  return {reserved_, wait_of(reserved_)};
}

std::chrono::nanoseconds RateLimiter::remaining(double position, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (rate_ == 0) return std::chrono::nanoseconds(0);
  refill(now);
  return wait_of(position);
}

std::chrono::nanoseconds RateLimiter::reserve(std::uint64_t bytes, Clock::time_point now) { return take(bytes, now).wait; }

bool RateLimiter::acquire(std::uint64_t bytes, const CancelToken& cancel) {
  const Ticket ticket = take(bytes, Clock::now());
  // Sleeps in slices rather than the whole wait at once, so that a rate changed meanwhile
  // (`pgmigrate rate`) governs the rest of the wait of lanes already asleep.
  for (auto wait = ticket.wait; wait.count() > 0; wait = remaining(ticket.position, Clock::now()))
    if (!cancel.wait_for(std::min<std::chrono::nanoseconds>(wait, kSlice))) return false;
  return !cancel.cancelled();
}

}  // namespace pgm::engine
