#include "migrate/metrics.h"

#include <string>
#include <string_view>

namespace pgm::migrate {
namespace {

constexpr auto kGauge = MetricFamily::Type::gauge;

}  // namespace

std::vector<MetricFamily> migrate_families(const State& s) {
  std::vector<MetricFamily> out;
  MetricFamily step{"pgmigrate_migrate_step", "1 for the step the migration is in (or stopped in), 0 for the others", kGauge, {}};
  MetricFamily started{"pgmigrate_migrate_step_start_time_seconds", "When the current step began (unix time)", kGauge, {}};
  const std::string current = s.current_step.value_or("");
  for (std::string_view name : kStepNames) {
    const std::string n(name);
    step.samples.push_back(MetricSample{{{"step", n}}, n == current ? 1.0 : 0.0});
    auto it = s.steps.find(n);
    if (n == current && it != s.steps.end() && it->second.started)
      started.samples.push_back(MetricSample{{{"step", n}}, *it->second.started});
  }
  out.push_back(std::move(step));
  out.push_back(std::move(started));
  out.push_back(single_metric("pgmigrate_migrate_running", "1 while the migration's run is going (state running)", kGauge,
                              s.state.value_or("") == "running" ? 1 : 0));
  if (s.slot_retained)
    out.push_back(single_metric("pgmigrate_migrate_slot_retained_wal_bytes", "WAL the migration's replication slot keeps on the primary",
                                kGauge, static_cast<double>(*s.slot_retained)));
  if (s.lag_bytes)
    out.push_back(single_metric("pgmigrate_migrate_replay_lag_bytes", "How far the standby's replay is behind the primary", kGauge,
                                static_cast<double>(*s.lag_bytes)));
  return out;
}

}  // namespace pgm::migrate
