#include "migrate/status_view.h"

#include "pgmigrate/migrate.h"

namespace pgm::migrate {

StatusView status_view(State state, bool alive, double now) {
  StatusView v;
  v.alive = alive;
  v.phase = state.state.value_or("");
  if (v.phase == "running" && !alive) v.phase = "interrupted";
  v.age_s = now - state.started.value_or(now);
  const std::uint64_t total = state.logical.value_or(state.referenced.value_or(0));
  if (state.transfer && state.current_step == "bulk" && total > 0) {
    v.bulk_total = total;
    const auto& t = *state.transfer;
    if (t.rate > 0 && total > t.bytes) v.eta_s = static_cast<double>(total - t.bytes) / t.rate;
  }
  v.state = std::move(state);
  return v;
}

Result<std::vector<StatusView>> status_views(const std::string& state_dir, double now) {
  auto listed = list(state_dir);
  if (!listed) return listed.status();
  std::vector<StatusView> out;
  out.reserve(listed->size());
  for (auto& m : *listed) {
    State st = m.snapshot();
    const bool alive = runner_alive(st);
    out.push_back(status_view(std::move(st), alive, now));
  }
  return out;
}

}  // namespace pgm::migrate
