#include "common/backoff.h"

#include <algorithm>

#include "common/random.h"

namespace pgm {

Result<std::chrono::milliseconds> Backoff::next() {
  auto r = random_uniform(static_cast<std::uint64_t>(ceiling_.count()));
  if (!r) return r.status().context("backoff jitter");
  ceiling_ = std::min(ceiling_ * 2, cap_);
  return std::chrono::milliseconds(static_cast<std::int64_t>(*r));
}

}  // namespace pgm
