// migrate's steps as a table: for each, when a run must take it (its precondition, decided
// from the state alone, so that a resumed run picks the step that was interrupted), what runs
// it, and what `abort` undoes of it. The runner is the caller's: the table is generic over the
// context its step functions take.
//
//   preflight → bulk → rounds → final → standby → catchup → switchover → cleanup
#pragma once

#include <optional>
#include <string_view>

#include "migrate/state.h"
#include "pgmigrate/status.h"

namespace pgm::migrate {

struct RunOptions {
  bool want_switchover = false;  // --switchover and not --no-switchover
};

enum class Action : std::uint8_t {
  run,         // take the step
  stop_ready,  // stop before it: the standby streams, the switchover was not asked for
};

struct NextStep {
  std::string_view step;
  Action action = Action::run;
};

// Whether a run must take `step` given the state: preflight always (it checks again), the
// others until they are done.
bool step_needed(const State& s, std::string_view step);

// The step a run (after its preflight) takes next: the first that is not done, in order.
// No value: every step is done.
std::optional<NextStep> next_step(const State& s, const RunOptions& o);

// One entry per step. `run` takes the caller's context; `undo` says what `abort` reverses of
// the step (abort does it in reverse order, for all steps at once: the target's standby and
// dataset, the slot, the source's holds and snapshots).
template <typename Ctx>
struct Step {
  std::string_view name;
  Status (*run)(Ctx&);
  std::string_view undo;
};

// The table's entry for `name`, or null.
template <typename Ctx, std::size_t N>
const Step<Ctx>* find_step(const Step<Ctx> (&table)[N], std::string_view name) {
  for (const auto& s : table)
    if (s.name == name) return &s;
  return nullptr;
}

}  // namespace pgm::migrate
