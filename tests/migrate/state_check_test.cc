// check_state_types / check_target_reply (src/migrate/state_check.h): a document with a known
// key of the wrong type is refused with one line naming the key; good documents, unknown and
// missing keys pass.
#include "migrate/state_check.h"

#include <gtest/gtest.h>

#include <string>

#include "migrate/state_fixture.h"

namespace pgm::migrate {
namespace {

using nlohmann::json;

json good_probe() {
  return json::parse(R"({"zfs": "zfs-2.1.5", "recv_resumable": true, "pool_exists": true, "pool_available": 500000000000,
    "dataset_exists": false, "mountpoint": "/tank/pg", "snapshots": ["tank/pg@a", "tank/pg@b"], "resume_token": false,
    "pg_ctl": "/usr/lib/postgresql/16/bin/pg_ctl", "pg_ctl_version": "pg_ctl (PostgreSQL) 16.2", "pg_major_ok": true,
    "replication": "ok"})");
}

void expect_corrupt(const Status& s, const std::string& message) {
  EXPECT_EQ(s.code(), Errc::corrupt) << s.message();
  EXPECT_EQ(s.message(), message);
  EXPECT_EQ(s.message().find('\n'), std::string::npos);
}

TEST(MigrateState, GoodStatePasses) {
  EXPECT_TRUE(check_state_types(good_state()).ok()) << check_state_types(good_state()).message();
  EXPECT_TRUE(check_state_types(json::parse(R"({"id": "x"})")).ok());
  EXPECT_TRUE(check_state_types(json::object()).ok());  // missing keys: the readers have defaults
}

TEST(MigrateState, NotAnObject) {
  expect_corrupt(check_state_types(json::array()), "the migration state is an array, expected an object");
  expect_corrupt(check_state_types(json("x")), "the migration state is a string, expected an object");
  expect_corrupt(check_state_types(json::parse("x", nullptr, false)), "the migration state is not JSON, expected an object");
}

TEST(MigrateState, TopLevelMismatches) {
  struct Case {
    const char* key;
    json value;
    const char* message;
  };
  const Case cases[] = {
      {"started", "x", "key 'started' is a string, expected a number"},
      {"id", 5, "key 'id' is a whole number, expected a string"},
      {"state", nullptr, "key 'state' is null, expected a string"},
      {"pid", 1.5, "key 'pid' is a floating-point number, expected a whole number"},
      {"pid_start", -1, "key 'pid_start' is a negative number, expected a non-negative whole number"},
      {"rounds_done", "2", "key 'rounds_done' is a string, expected a non-negative whole number"},
      {"slot_retained", true, "key 'slot_retained' is a boolean, expected a non-negative whole number"},
      {"switched", "yes", "key 'switched' is a string, expected a boolean"},
      {"slot_created", 1, "key 'slot_created' is a whole number, expected a boolean"},
      {"write_window_s", "1s", "key 'write_window_s' is a string, expected a number"},
      {"holds", "tank/pg@x", "key 'holds' is a string, expected an array of strings"},
      {"holds", json::array({"a", 2}), "key 'holds[1]' is a whole number, expected a string"},
      {"steps", json::array(), "key 'steps' is an array, expected an object"},
      {"transfer", "x", "key 'transfer' is a string, expected an object"},
      {"error", json::object(), "key 'error' is an object, expected a string"},
  };
  for (const auto& c : cases) {
    json j = good_state();
    j[c.key] = c.value;
    expect_corrupt(check_state_types(j), c.message);
  }
}

TEST(MigrateState, NestedMismatches) {
  json j = good_state();
  j["steps"]["bulk"]["bytes"] = "many";
  expect_corrupt(check_state_types(j), "key 'steps.bulk.bytes' is a string, expected a non-negative whole number");
  j = good_state();
  j["steps"]["rounds"]["status"] = false;
  expect_corrupt(check_state_types(j), "key 'steps.rounds.status' is a boolean, expected a string");
  j = good_state();
  j["steps"]["final"] = "done";
  expect_corrupt(check_state_types(j), "key 'steps.final' is a string, expected an object");
  j = good_state();
  j["steps"]["we'ird\nname"] = 1;
  expect_corrupt(check_state_types(j), "key 'steps.we?ird?name' is a whole number, expected an object");
  j = good_state();
  j["transfer"]["rate"] = "fast";
  expect_corrupt(check_state_types(j), "key 'transfer.rate' is a string, expected a number");
  j = good_state();
  j["transfer"]["unknown"] = "fine";
  j["steps"]["bulk"]["unknown"] = json::array();
  EXPECT_TRUE(check_state_types(j).ok());
}

TEST(MigrateState, FirstMismatchIsReported) {
  json j = json::parse(R"({"id": 5, "started": "x"})");
  EXPECT_EQ(check_state_types(j).message(), "key 'id' is a whole number, expected a string");
}

TEST(TargetReply, GoodRepliesPass) {
  EXPECT_TRUE(check_target_reply(good_probe()).ok());
  EXPECT_TRUE(check_target_reply(json::parse(R"({"destroyed": ["tank/pg@pgmigrate-x-bulk"]})")).ok());
  EXPECT_TRUE(check_target_reply(json::parse(R"({"destroyed": []})")).ok());
  EXPECT_TRUE(check_target_reply(json::parse(R"({"stopped_postgres": true, "aborted_receives": ["s1"], "destroyed": false})")).ok());
  EXPECT_TRUE(check_target_reply(json::parse(R"({"new_field": {"x": 1}})")).ok());
}

TEST(TargetReply, Mismatches) {
  struct Case {
    const char* key;
    json value;
    const char* message;
  };
  const Case cases[] = {
      {"pool_exists", "yes", "key 'pool_exists' is a string, expected a boolean"},
      {"pool_available", 1.5e12, "key 'pool_available' is a floating-point number, expected a non-negative whole number"},
      {"pool_available", "500G", "key 'pool_available' is a string, expected a non-negative whole number"},
      {"dataset_exists", 0, "key 'dataset_exists' is a whole number, expected a boolean"},
      {"pg_major_ok", nullptr, "key 'pg_major_ok' is null, expected a boolean"},
      {"pg_ctl", false, "key 'pg_ctl' is a boolean, expected a string"},
      {"replication", json::object(), "key 'replication' is an object, expected a string"},
      {"recv_resumable", "true", "key 'recv_resumable' is a string, expected a boolean"},
      {"zfs", 2, "key 'zfs' is a whole number, expected a string"},
      {"mountpoint", json::array(), "key 'mountpoint' is an array, expected a string"},
      {"snapshots", "tank/pg@a", "key 'snapshots' is a string, expected an array of strings"},
      {"snapshots", json::array({"a", nullptr}), "key 'snapshots[1]' is null, expected a string"},
      {"stopped_postgres", "no", "key 'stopped_postgres' is a string, expected a boolean"},
      {"aborted_receives", json::array({1}), "key 'aborted_receives[0]' is a whole number, expected a string"},
      {"destroyed", "yes", "key 'destroyed' is a string, expected a boolean or an array of strings"},
      {"destroyed", json::array({true}), "key 'destroyed[0]' is a boolean, expected a string"},
  };
  for (const auto& c : cases) {
    json j = good_probe();
    j[c.key] = c.value;
    expect_corrupt(check_target_reply(j), c.message);
  }
}

TEST(TargetReply, NotAnObject) {
  expect_corrupt(check_target_reply(json(5)), "the reply is a whole number, expected an object");
  expect_corrupt(check_target_reply(json::array()), "the reply is an array, expected an object");
  expect_corrupt(check_target_reply(json(nullptr)), "the reply is null, expected an object");
}

}  // namespace
}  // namespace pgm::migrate
