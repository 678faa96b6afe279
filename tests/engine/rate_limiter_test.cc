#include "engine/rate_limiter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace pgm::engine {
namespace {

using Clock = RateLimiter::Clock;
using std::chrono::nanoseconds;
using std::chrono::seconds;

// Drives the bucket with a simulated clock: `lanes` senders each reserve a frame, wait what
// they are told, send (instantly) and reserve the next. Returns the bytes sent in [0, span).
// `change` (if set) is called once at `change_at` to alter the limiter.
std::uint64_t simulate(RateLimiter& limiter, int lanes, std::uint64_t frame, nanoseconds span, nanoseconds change_at = nanoseconds::max(),
                       std::uint64_t new_rate = 0) {
  const Clock::time_point t0{};
  std::vector<Clock::time_point> ready(lanes, t0);
  std::uint64_t sent = 0;
  bool changed = false;
  for (;;) {
    auto it = std::min_element(ready.begin(), ready.end());
    const Clock::time_point now = *it;
    if (!changed && now - t0 >= change_at) {
      changed = true;
      limiter.set_rate(new_rate, now);
    }
    const Clock::time_point at = now + limiter.reserve(frame, now);
    if (at - t0 >= span) break;
    sent += frame;
    *it = at;
  }
  return sent;
}

TEST(RateLimiter, HoldsTheRateWithinFivePercentOverAMinuteAcrossLanes) {
  // 8 lanes of 4 MiB frames at 50 MB/s: the frames are far larger than the burst (12.5 MB /4).
  for (int lanes : {1, 4, 8}) {
    RateLimiter limiter(50'000'000);
    const double sent = static_cast<double>(simulate(limiter, lanes, 4u << 20, seconds(60)));
    EXPECT_NEAR(sent / 60.0, 50e6, 50e6 * 0.05) << lanes << " lanes";
  }
}

TEST(RateLimiter, SmallFramesAndSlowRates) {
  RateLimiter limiter(1'000'000);  // 1 MB/s, 64 KiB frames
  const double sent = static_cast<double>(simulate(limiter, 3, 64u << 10, seconds(60)));
  EXPECT_NEAR(sent / 60.0, 1e6, 1e6 * 0.05);
}

TEST(RateLimiter, ARateChangedWhileRunningTakesEffect) {
  RateLimiter limiter(40'000'000);
  const double sent = static_cast<double>(simulate(limiter, 4, 1u << 20, seconds(60), seconds(30), 10'000'000));
  const double expected = 30 * 40e6 + 30 * 10e6;
  EXPECT_NEAR(sent, expected, expected * 0.05);
  EXPECT_EQ(limiter.rate(), 10'000'000u);
}

TEST(RateLimiter, UnlimitedNeverWaits) {
  RateLimiter limiter(0);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(limiter.reserve(64u << 20, Clock::now()).count(), 0);
}

TEST(RateLimiter, TheFirstBurstIsFreeAndTheNextFrameWaits) {
  RateLimiter limiter(4'000'000);  // burst 1 MB
  const Clock::time_point t{};
  EXPECT_EQ(limiter.reserve(1'000'000, t).count(), 0);
  // The bucket is empty: 2 MB more is half a second at 4 MB/s.
  EXPECT_EQ(limiter.reserve(2'000'000, t), std::chrono::milliseconds(500));
}

TEST(RateLimiter, AcquireEndsWhenCancelled) {
  RateLimiter limiter(1000);  // 1 KB/s: a 10 MB frame would wait for hours
  CancelToken cancel;
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    cancel.cancel(Status(Errc::interrupted, "stop"));
  });
  const auto start = Clock::now();
  EXPECT_FALSE(limiter.acquire(10'000'000, cancel));
  stopper.join();
  EXPECT_LT(Clock::now() - start, seconds(10));
}

// A lane asleep in acquire() for a frame that would take hours at the old rate: raising the
// rate (or lifting it) must reach it, not only the lanes that reserve after the change.
TEST(RateLimiter, ARateChangeReachesALaneAlreadyAsleep) {
  for (std::uint64_t new_rate : {std::uint64_t{100'000'000}, std::uint64_t{0}}) {
    RateLimiter limiter(1000);  // 1 KB/s: 10 MB is almost three hours
    CancelToken cancel;
    std::atomic<bool> done{false};
    std::thread lane([&] {
      EXPECT_TRUE(limiter.acquire(10'000'000, cancel));
      done = true;
    });
    // The lane has reserved once the bucket is in debt (a reservation is all it does first).
    while (limiter.reserve(0, Clock::now()).count() == 0) std::this_thread::yield();
    limiter.set_rate(new_rate);
    const auto deadline = Clock::now() + seconds(10);
    while (!done && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const bool released = done;
    if (!released) cancel.cancel(Status(Errc::interrupted, "the rate change did not reach the sleeping lane"));
    lane.join();
    EXPECT_TRUE(released) << "new rate " << new_rate;
  }
}

TEST(CancelToken, WaitForSleepsTheWholeTimeUnlessCancelled) {
  CancelToken cancel;
  const auto start = Clock::now();
  EXPECT_TRUE(cancel.wait_for(std::chrono::milliseconds(30)));
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(30));
  cancel.cancel(Status(Errc::interrupted, "stop"));
  EXPECT_FALSE(cancel.wait_for(seconds(60)));
}

}  // namespace
}  // namespace pgm::engine
