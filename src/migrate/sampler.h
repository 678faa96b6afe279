// A thread that calls `tick` every `period` until stopped: migrate's slot sampler and send
// reporter. Their writes go through StateFile, whose lock makes them safe beside the step's
// own (state.h).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "migrate/state.h"

namespace pgm::migrate {

class Sampler {
 public:
  // `tick` returns false to end the thread early. The first tick runs at once, or after one
  // period with `delay_first`.
  Sampler(std::chrono::milliseconds period, std::function<bool()> tick, bool delay_first = false);
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;
  Sampler(Sampler&&) = delete;
  Sampler& operator=(Sampler&&) = delete;
  // Stops and joins.
  ~Sampler();

  // Wakes the thread at once and waits for it; the tick under way, if any, completes first.
  void stop();
  // How many ticks have run (for tests that wait until the samplers have overlapped).
  std::uint64_t ticks() const;

 private:
  void loop();

  std::chrono::milliseconds period_;
  std::function<bool()> tick_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool delay_first_;
  bool stopping_ = false;
  std::uint64_t ticks_ = 0;
  std::thread thread_;
};

// The send reporter: every period, the running send's position (from the transfer) and its
// rate since the last report go into the state and its file, for `migrate status`.
class TransferReporter {
 public:
  TransferReporter(StateFile& state, std::string snapshot, const std::atomic<std::uint64_t>& position,
                   std::chrono::milliseconds period = std::chrono::seconds(1));
  // Stops the reports and clears the state's transfer (saved with the step's next save).
  void finish();
  std::uint64_t reports() const { return sampler_.ticks(); }

 private:
  bool report();

  StateFile& state_;
  std::string snapshot_;
  const std::atomic<std::uint64_t>& position_;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
  std::uint64_t last_bytes_ = 0;
  Sampler sampler_;  // last: its thread starts once the members above exist
};

// The slot sampler: every period, what the migration's slot retains (and the peak) into the
// state. `sample` gives no value when it has none this time (the primary unreachable).
class SlotSampler {
 public:
  SlotSampler(StateFile& state, std::function<std::optional<std::uint64_t>()> sample,
              std::chrono::milliseconds period = std::chrono::seconds(1));
  // Stops sampling and writes the file.
  Status finish();
  std::uint64_t samples() const { return sampler_.ticks(); }

 private:
  StateFile& state_;
  std::function<std::optional<std::uint64_t>()> sample_;
  Sampler sampler_;
};

}  // namespace pgm::migrate
