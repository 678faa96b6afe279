// The final and catch-up steps' samplers, run together on one state as `migrate run` runs them
// (src/migrate/sampler.h): the slot sampler, the send reporter, the catch-up callback and the
// step's own bookkeeping. Before StateFile they wrote one untyped JSON object without a lock (and
// the same <file>.tmp at once); ThreadSanitizer (scripts/test runs this label under it) reports
// any such race here. The end state must hold every writer's last word.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>

#include "journal/journal.h"
#include "migrate/sampler.h"
#include "migrate/state.h"

namespace pgm::migrate {
namespace {

TEST(MigrateStateRace, SamplersReporterAndCatchupTogether) {
  const std::string dir = ::testing::TempDir() + "/pgm_migrate_race_" + std::to_string(::getpid());
  ASSERT_TRUE(journal::make_private_dir(dir).ok());
  State initial;
  initial.id = "race1";
  initial.slot = "pgmigrate_race1";
  StateFile state(dir + "/race1.json", initial);
  ASSERT_TRUE(state.save().ok());

  std::atomic<std::uint64_t> position{0};
  std::atomic<std::uint64_t> next_sample{0};
  constexpr std::uint64_t kSamples = 200;
  constexpr std::uint64_t kReports = 50;
  {
    state.begin_step("final");
    SlotSampler slot(
        state, [&]() -> std::optional<std::uint64_t> { return next_sample.fetch_add(1) * 10; }, std::chrono::milliseconds(0));
    TransferReporter reporter(state, "tank/pg@pgmigrate-race1-final", position, std::chrono::milliseconds(0));
    // This thread is the send (the position moves) and the catch-up callback (lag written and
    // saved), until both samplers have run often enough to overlap each other and it.
    std::uint64_t lag = 1'000'000;
    while (slot.samples() < kSamples || reporter.reports() < kReports) {
      position.fetch_add(4096);
      state.add_bytes("final", 4096);
      ASSERT_TRUE(state.record_lag(--lag).ok());
      (void)state.read([](const State& s) { return s.slot_retained.value_or(0) + s.peak_retained.value_or(0); });
    }
    reporter.finish();
    ASSERT_TRUE(slot.finish().ok());
    state.end_step("final");
  }
  const State end = state.snapshot();
  const std::uint64_t taken = next_sample.load();
  ASSERT_GE(taken, kSamples);
  EXPECT_EQ(end.peak_retained, (taken - 1) * 10);  // the samples only grow: the peak is the last
  EXPECT_EQ(end.slot_retained, (taken - 1) * 10);
  EXPECT_FALSE(end.transfer);  // the reporter's record ends with the send
  EXPECT_EQ(end.steps.at("final").bytes, position.load());
  EXPECT_EQ(end.step_status("final"), "done");
  auto loaded = StateFile::load(state.path());
  ASSERT_TRUE(loaded) << loaded.status().message();
  EXPECT_EQ(loaded->snapshot().to_json(), end.to_json());
  std::remove(state.path().c_str());
  ::rmdir(dir.c_str());
}

}  // namespace
}  // namespace pgm::migrate
