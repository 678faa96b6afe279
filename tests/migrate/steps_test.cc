// Step selection on resume (src/migrate/steps.h): given the state a run left, which step the
// next run takes.
#include "migrate/steps.h"

#include <gtest/gtest.h>

#include <string>

namespace pgm::migrate {
namespace {

State done_through(std::string_view last) {
  State s;
  s.id = "x";
  for (const auto name : kStepNames) {
    s.steps[std::string(name)].status = "done";
    if (name == last) break;
  }
  return s;
}

TEST(MigrateSteps, NewMigrationStartsWithBulk) {
  State s;
  s.id = "x";
  auto next = next_step(s, {});
  ASSERT_TRUE(next);
  EXPECT_EQ(next->step, "bulk");
  EXPECT_EQ(next->action, Action::run);
}

TEST(MigrateSteps, InterruptedStepRunsAgain) {
  State s = done_through("rounds");
  s.steps["final"].status = "running";  // killed while sending the final increment
  auto next = next_step(s, {});
  ASSERT_TRUE(next);
  EXPECT_EQ(next->step, "final");
  s.steps["final"].status = "failed";
  EXPECT_EQ(next_step(s, {})->step, "final");
}

TEST(MigrateSteps, EachDoneStepIsSkipped) {
  const char* expected[] = {"rounds", "final", "standby", "catchup", "switchover", "cleanup"};
  std::size_t i = 0;
  for (const auto name : {"bulk", "rounds", "final", "standby", "catchup", "switchover"}) {
    auto next = next_step(done_through(name), {true});
    ASSERT_TRUE(next) << name;
    EXPECT_EQ(next->step, expected[i++]) << "after " << name;
    EXPECT_EQ(next->action, Action::run);
  }
  EXPECT_FALSE(next_step(done_through("cleanup"), {true}));
}

TEST(MigrateSteps, StopsReadyBeforeSwitchoverUnlessAsked) {
  const State s = done_through("catchup");
  auto next = next_step(s, {false});
  ASSERT_TRUE(next);
  EXPECT_EQ(next->step, "switchover");
  EXPECT_EQ(next->action, Action::stop_ready);
  next = next_step(s, {true});
  EXPECT_EQ(next->action, Action::run);
}

TEST(MigrateSteps, PreflightIsAlwaysNeeded) {
  EXPECT_TRUE(step_needed(done_through("cleanup"), "preflight"));
  EXPECT_FALSE(step_needed(done_through("cleanup"), "bulk"));
  EXPECT_TRUE(step_needed(done_through("bulk"), "rounds"));
}

}  // namespace
}  // namespace pgm::migrate
