#include "migrate/steps.h"

namespace pgm::migrate {

bool step_needed(const State& s, std::string_view step) { return step == "preflight" || s.step_status(step) != "done"; }

std::optional<NextStep> next_step(const State& s, const RunOptions& o) {
  for (const auto name : kStepNames) {
    if (name == "preflight" || !step_needed(s, name)) continue;
    if (name == "switchover" && !o.want_switchover) return NextStep{name, Action::stop_ready};
    return NextStep{name, Action::run};
  }
  return std::nullopt;
}

}  // namespace pgm::migrate
