// migrate::State and StateFile (src/migrate/state.h): the typed state reads the documents that
// earlier versions wrote and writes them back unchanged; a refused document is one line.
#include "migrate/state.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "journal/journal.h"

namespace pgm::migrate {
namespace {

using nlohmann::json;

// A state file as `migrate run` writes it in its final step, plus a key of a later version.
json full_state() {
  return json::parse(R"({
    "id": "abcd1234", "started": 1700000000.5, "updated": 1700000100.25,
    "source": "tank/pg", "target": "backup:tank/pg", "state": "running", "current_step": "final",
    "slot": "pgmigrate_abcd1234", "last_sent": "tank/pg@pgmigrate-abcd1234-r1",
    "target_pgdata": "/tank/pg/data", "error": "interrupted", "pid": 1234, "pid_start": 987654,
    "boot_id": "0f1e2d3c", "rounds_done": 1, "last_round_bytes": 4096, "referenced": 1073741824,
    "slot_retained": 65536, "peak_retained": 131072, "lag_bytes": 0, "write_window_s": 1.25,
    "switched": false, "slot_created": true, "standby_started": true, "sent": [],
    "holds": ["tank/pg@pgmigrate-abcd1234-base", "tank/pg@pgmigrate-abcd1234-r1"],
    "steps": {"preflight": {}, "bulk": {"status": "done", "started": 1700000000, "finished": 1700000050.5,
                                        "seconds": 50.5, "bytes": 1073741824, "detail": "ok"},
              "final": {"status": "running", "started": 1700000051.0}},
    "transfer": {"snapshot": "tank/pg@pgmigrate-abcd1234-final", "bytes": 12345, "rate": 1.5e6},
    "a_key_of_a_later_version": {"anything": [1, "x"]}
  })");
}

TEST(MigrateStateRoundTrip, DocumentComesBackUnchanged) {
  auto s = State::from_json(full_state());
  ASSERT_TRUE(s) << s.status().message();
  EXPECT_EQ(s->id, "abcd1234");
  EXPECT_EQ(s->slot, "pgmigrate_abcd1234");
  EXPECT_EQ(s->pid, 1234);
  EXPECT_EQ(s->peak_retained, 131072U);
  EXPECT_EQ(s->step_status("bulk"), "done");
  EXPECT_EQ(s->step_status("final"), "running");
  EXPECT_EQ(s->step_status("cleanup"), "pending");
  EXPECT_EQ(s->steps.at("bulk").bytes, 1073741824U);
  ASSERT_TRUE(s->transfer);
  EXPECT_EQ(s->transfer->bytes, 12345U);
  EXPECT_EQ(s->holds.size(), 2U);
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
