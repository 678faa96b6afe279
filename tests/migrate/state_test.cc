// migrate::State and StateFile (src/migrate/state.h): the typed state reads the documents that
// earlier versions wrote and writes them back unchanged; a refused document is one line.
#include "migrate/state.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "journal/journal.h"
#include "migrate/state_fixture.h"

namespace pgm::migrate {
namespace {

using nlohmann::json;

json full_state() { return good_state(); }

TEST(MigrateStateRoundTrip, DocumentComesBackUnchanged) {
  auto s = State::from_json(full_state());
  ASSERT_TRUE(s) << s.status().message();
  EXPECT_EQ(s->id, "20240101-abcd");
  EXPECT_EQ(s->slot, "pgmigrate_abcd");
  EXPECT_EQ(s->pid, 1234);
  EXPECT_EQ(s->peak_retained, 131072U);
  EXPECT_EQ(s->step_status("bulk"), "done");
  EXPECT_EQ(s->step_status("rounds"), "running");
  EXPECT_EQ(s->step_status("cleanup"), "pending");
  EXPECT_EQ(s->steps.at("bulk").bytes, 1073741824U);
  ASSERT_TRUE(s->transfer);
  EXPECT_EQ(s->transfer->bytes, 12345U);
  EXPECT_EQ(s->holds.size(), 1U);
  EXPECT_EQ(s->to_json(), full_state());
}

TEST(MigrateStateRoundTrip, AbsentKeysStayAbsent) {
  // A migration just created: what `open_migration` writes before its first step.
  const json fresh = json::parse(R"({"id": "x1", "source": "tank/pg", "target": "h:tank/pg", "slot": "pgmigrate_x1",
                                     "state": "new", "started": 1.5, "steps": {}, "holds": []})");
  auto s = State::from_json(fresh);
  ASSERT_TRUE(s) << s.status().message();
  EXPECT_FALSE(s->current_step);
  EXPECT_FALSE(s->slot_retained);
  EXPECT_FALSE(s->transfer);
  EXPECT_EQ(s->to_json(), fresh);
}

TEST(MigrateStateRoundTrip, ZfsFlagsAreKeptAndAbsentStaysAbsent) {
  json j = full_state();
  EXPECT_FALSE(State::from_json(j)->zfs_flags);  // a state from before there were any
  j["zfs_flags"] = json::array({"--raw", "--recv-set=mountpoint=/srv/pg"});
  auto s = State::from_json(j);
  ASSERT_TRUE(s) << s.status().message();
  ASSERT_TRUE(s->zfs_flags);
  EXPECT_EQ(*s->zfs_flags, (std::vector<std::string>{"--raw", "--recv-set=mountpoint=/srv/pg"}));
  EXPECT_EQ(s->to_json(), j);
  j["zfs_flags"] = "--raw";
  EXPECT_FALSE(State::from_json(j));
}

TEST(MigrateStateRoundTrip, RefusesAKnownKeyOfAnotherType) {
  json j = full_state();
  j["peak_retained"] = "a lot";
  auto s = State::from_json(j);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.status().code(), Errc::corrupt);
  EXPECT_EQ(s.status().message(), "key 'peak_retained' is a string, expected a non-negative whole number");
  j = full_state();
  j["standby_started"] = 1;
  EXPECT_FALSE(State::from_json(j));
  EXPECT_FALSE(State::from_json(json::parse(R"({"source": "tank/pg"})")));  // no id
}

TEST(MigrateStateRoundTrip, ThroughTheFile) {
  const std::string dir = ::testing::TempDir() + "/pgm_migrate_state_" + std::to_string(::getpid());
  ASSERT_TRUE(journal::make_private_dir(dir).ok());
  const std::string path = dir + "/abcd1234.json";
  auto s = State::from_json(full_state());
  ASSERT_TRUE(s);
  StateFile written(path, *s);
  written.begin_step("catchup");
  ASSERT_TRUE(written.record_lag(777).ok());
  auto loaded = StateFile::load(path);
  ASSERT_TRUE(loaded) << loaded.status().message();
  EXPECT_EQ(loaded->snapshot().to_json(), written.snapshot().to_json());
  EXPECT_EQ(loaded->snapshot().lag_bytes, 777U);
  EXPECT_EQ(loaded->step_status("catchup"), "running");
  EXPECT_EQ(loaded->snapshot().unknown, json::parse(R"({"a_key_of_a_later_version": {"anything": [1, "x"]}, "sent": []})"));

  ASSERT_TRUE(journal::write_file_atomic(path, R"({"id": "abcd1234", "holds": "tank/pg@x"})").ok());
  auto bad = StateFile::load(path);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.status().code(), Errc::corrupt);
  EXPECT_NE(bad.status().message().find(path), std::string::npos) << bad.status().message();
  std::remove(path.c_str());
  ::rmdir(dir.c_str());
}

}  // namespace
}  // namespace pgm::migrate
