// A token bucket over the bytes a transfer puts on the wire, shared by all its lanes, so that a
// migration can share a production link: `--rate 50M` means 50 MB/s for the whole transfer,
// however many connections carry it.
//
// Lanes reserve the size of each frame before writing it. A reservation never waits for
// tokens to be there; it takes them (the bucket may go into debt) and sleeps until the debt
// is paid back at the rate. That keeps frames whole (a 4 MiB frame is larger than the burst)
// and queues concurrent lanes fairly: each later reservation sees the earlier debts.
// Over any interval T the bytes admitted are at most rate*T + burst.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

#include "common/cancel.h"

namespace pgm::engine {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  // bytes_per_second 0: unlimited. The burst is a quarter second of the rate.
  explicit RateLimiter(std::uint64_t bytes_per_second = 0);

  // Thread-safe; takes effect at once: the bucket's debt is paid at the new rate from now on,
  // for later reservations and for lanes already asleep in acquire() alike (they wake within
  // kSlice and wait out what remains of their debt at the new rate; 0 releases them).
  // `now` is the clock's, as for reserve().
  void set_rate(std::uint64_t bytes_per_second, Clock::time_point now = Clock::now());
  std::uint64_t rate() const;

  // How long a lane in acquire() sleeps at most before it looks at the rate again.
  static constexpr std::chrono::milliseconds kSlice{50};

  // Blocks until `bytes` may be sent; false if cancelled first. Thread-safe.
  bool acquire(std::uint64_t bytes, const CancelToken& cancel);

  // The reservation itself, at time `now`: how long the caller must wait before sending, at
  // the rate in force now. Exposed so that tests can drive the bucket with their own clock.
  std::chrono::nanoseconds reserve(std::uint64_t bytes, Clock::time_point now);

 private:
  struct Ticket {
    double position = 0;  // reserved_ just after this reservation
    std::chrono::nanoseconds wait{0};
  };
  Ticket take(std::uint64_t bytes, Clock::time_point now);
  // What is left of the wait of the reservation at `position`, at the rate in force now.
  std::chrono::nanoseconds remaining(double position, Clock::time_point now);
  void refill(Clock::time_point now);                       // REQUIRES: mu_ held
  std::chrono::nanoseconds wait_of(double position) const;  // REQUIRES: mu_ held, rate_ > 0

  mutable std::mutex mu_;
  std::uint64_t rate_;
  double tokens_ = 0;  // bytes; negative is debt
  // Bytes reserved so far (while limited). A reservation may go once reserved_ + tokens_, the
  // bytes the bucket has paid for, reaches the reserved_ it left behind: later reservations
  // move both by the same amount, so only the refill (at whatever rate is in force) moves it.
  double reserved_ = 0;
  Clock::time_point last_{};
  bool started_ = false;
};

}  // namespace pgm::engine
