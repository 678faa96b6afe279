// Capped exponential backoff with full jitter, for retry loops: each wait is uniform in
// [0, the current ceiling], and the ceiling doubles from `first` up to `cap`. The jitter keeps
// many clients that failed together (N uploaders hitting one SlowDown, lanes dropped by one
// outage) from coming back in step.
#pragma once

#include <chrono>

#include "pgmigrate/status.h"

namespace pgm {

class Backoff {
 public:
  // REQUIRES: 0 < first <= cap.
  Backoff(std::chrono::milliseconds first, std::chrono::milliseconds cap) : first_(first), cap_(cap), ceiling_(first) {}

  // The next wait (uniform in [0, ceiling]); then the ceiling doubles, up to the cap. An error
  // only if no random bytes could be had.
  Result<std::chrono::milliseconds> next();
  // The ceiling the next wait is drawn under.
  std::chrono::milliseconds ceiling() const { return ceiling_; }
  // Back to `first`: the thing retried had been working again.
  void reset() { ceiling_ = first_; }

 private:
  std::chrono::milliseconds first_;
  std::chrono::milliseconds cap_;
  std::chrono::milliseconds ceiling_;
};

}  // namespace pgm
