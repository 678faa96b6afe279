// The pure parts of pg/replication_features: which standby names a synchronous_standby_names
// setting can select, and what plan and run say of logical slots, sync standbys and archiving.
#include "pg/replication_features.h"

#include <gtest/gtest.h>

namespace pgm::pg {
namespace {

TEST(SyncNames, ListsInEveryForm) {
  EXPECT_FALSE(sync_names_select("", "pgmigrate_a"));
  EXPECT_FALSE(sync_names_select("  ", "pgmigrate_a"));
  EXPECT_TRUE(sync_names_select("*", "pgmigrate_a"));
  EXPECT_TRUE(sync_names_select("FIRST 1 (s1, *)", "pgmigrate_a"));
  EXPECT_TRUE(sync_names_select("s1, pgmigrate_a", "pgmigrate_a"));
  EXPECT_FALSE(sync_names_select("s1, s2", "pgmigrate_a"));
  EXPECT_TRUE(sync_names_select("2 (s1, PGMIGRATE_A)", "pgmigrate_a"));  // unquoted names fold case
  EXPECT_TRUE(sync_names_select("ANY 1 (s1,pgmigrate_a)", "pgmigrate_a"));
  EXPECT_FALSE(sync_names_select("ANY 1 (s1, s2)", "pgmigrate_a"));
  EXPECT_FALSE(sync_names_select("\"PGMIGRATE_A\"", "pgmigrate_a"));  // quoted names do not
  EXPECT_TRUE(sync_names_select("FIRST 1 (\"Sync, One\", \"pgmigrate_a\")", "pgmigrate_a"));
  EXPECT_FALSE(sync_names_select("FIRST 1 (\"Sync, One\")", "Sync"));
  EXPECT_TRUE(sync_names_select("first", "FIRST"));  // a lone word is a standby's name, not the keyword
  EXPECT_TRUE(sync_names_select("\"a\"\"b\"", "a\"b"));
}

ReplicationFeatures some() {
  ReplicationFeatures f;
  f.logical_slots.push_back({"sub1", "pgoutput", "app", true, "sub1@10.0.0.9", false});
  f.logical_slots.push_back({"cdc", "test_decoding", "app", false, "", true});
  f.synchronous_standby_names = "FIRST 1 (s1)";
  f.sync_standbys.push_back({"s1", "10.0.0.5", "sync"});
  f.archive_mode = "on";
  f.archive_command = "cp %p /arch/%f";
  return f;
}

TEST(ReplicationFeatures, DescribedOneLineEach) {
  const auto lines = describe_replication(some(), "pgmigrate_a");
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_NE(lines[0].find("logical slot 'sub1' (pgoutput, database app, consumer sub1@10.0.0.9)"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("no consumer connected"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("failover slot"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find("standbys s1@10.0.0.5 (sync)"), std::string::npos) << lines[2];
  EXPECT_NE(lines[2].find("is not selected by it"), std::string::npos) << lines[2];
  EXPECT_NE(lines[3].find("archive_command 'cp %p /arch/%f'"), std::string::npos) << lines[3];
  for (const auto& l : lines) EXPECT_EQ(l.find('\n'), std::string::npos);
  ReplicationFeatures star = some();
  star.synchronous_standby_names = "*";
  EXPECT_NE(describe_replication(star, "pgmigrate_a")[2].find("IS selected by it"), std::string::npos);
  EXPECT_TRUE(describe_replication(ReplicationFeatures{{}, "", {}, "off", ""}, "x").empty());
}

TEST(ReplicationFeatures, LogicalSlotsRefusedUnlessAccepted) {
  const std::string why = logical_slots_refusal(some(), false, "--abandon-logical-slots");
  EXPECT_NE(why.find("sub1 (used by sub1@10.0.0.9), cdc"), std::string::npos) << why;
  EXPECT_NE(why.find("--abandon-logical-slots"), std::string::npos) << why;
  EXPECT_EQ(logical_slots_refusal(some(), true, "--abandon-logical-slots"), "");
  EXPECT_EQ(logical_slots_refusal(ReplicationFeatures{}, false, "x"), "");
}

}  // namespace
}  // namespace pgm::pg
