// What `migrate status` shows of each migration in a state directory, computed here so that the
// cli only renders it: whether its runner still lives, its phase, age, and during the bulk send
// the expected total and the time left at the last rate (worded by migrate/describe.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "migrate/state.h"
#include "pgmigrate/status.h"

namespace pgm::migrate {

struct StatusView {
  State state;
  bool alive = false;  // the process the state names still runs (runner_alive)
  std::string phase;   // the state's, or "interrupted" for a running one whose runner is gone
  double age_s = 0;
  // During the bulk step: the stream's expected size (logical: before ZFS compression; older
  // states: referenced) and, at the last rate, the time left.
  std::optional<std::uint64_t> bulk_total;
  std::optional<double> eta_s;
};

// The view of one state at `now` (seconds since the epoch) given whether its runner lives. Pure.
StatusView status_view(State state, bool alive, double now);

// Every migration under `state_dir`, oldest first (list), viewed at `now`.
Result<std::vector<StatusView>> status_views(const std::string& state_dir, double now);

}  // namespace pgm::migrate
