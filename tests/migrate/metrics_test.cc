// A migration's families in the --metrics-file textfile (migrate/metrics.h).
#include "migrate/metrics.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pgm::migrate {
namespace {

const MetricFamily* find(const std::vector<MetricFamily>& fs, const std::string& name) {
  for (const auto& f : fs)
    if (f.name == name) return &f;
  return nullptr;
}

TEST(MigrateMetrics, FamiliesMarkTheCurrentStepAndItsStart) {
  State st;
  st.state = "running";
  st.current_step = "catchup";
  st.steps["catchup"].started = 1.7e9;
  st.steps["bulk"].started = 1.6e9;
  st.slot_retained = 123;
  st.lag_bytes = 45;
  auto fs = migrate_families(st);
  const MetricFamily* step = find(fs, "pgmigrate_migrate_step");
  ASSERT_NE(step, nullptr);
  double ones = 0;
  for (const auto& s : step->samples) {
    ones += s.value;
    if (s.value == 1) {
      EXPECT_EQ(s.labels[0].second, "catchup");
    }
  }
  EXPECT_EQ(ones, 1);
  const MetricFamily* started = find(fs, "pgmigrate_migrate_step_start_time_seconds");
  ASSERT_EQ(started->samples.size(), 1u);  // only the current step's
  EXPECT_EQ(started->samples[0].value, 1.7e9);
  EXPECT_EQ(find(fs, "pgmigrate_migrate_slot_retained_wal_bytes")->samples[0].value, 123);
  EXPECT_EQ(find(fs, "pgmigrate_migrate_replay_lag_bytes")->samples[0].value, 45);
  EXPECT_EQ(find(fs, "pgmigrate_migrate_running")->samples[0].value, 1);
}

}  // namespace
}  // namespace pgm::migrate
