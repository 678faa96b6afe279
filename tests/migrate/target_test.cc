// migrate's work on the target host (migrate/target.h) that runs without a server: abort's
// removal of the Debian cluster configuration the standby step made, and the tail of the far
// halves' log that `migrate far-log` reads.
#include "migrate/target.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "common/cancel.h"
#include "journal/journal.h"
#include "pg/test_files.h"

namespace pgm::migrate {
namespace {

namespace fs = std::filesystem;
using pg::test_files::make_temp_dir;
using pg::test_files::write;

class DebianAbort : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = make_temp_dir("pgm-abort-conf");
    ASSERT_FALSE(root_.empty());
  }
  void TearDown() override { fs::remove_all(root_); }
  void cluster(const std::string& ver_name, const std::string& data_directory) {
    write(root_ / ver_name / "postgresql.conf", "port = 5432\ndata_directory = '" + data_directory + "'\n");
    write(root_ / ver_name / "start.conf", "auto\n");
  }
  fs::path root_;
};

TEST_F(DebianAbort, RemovesOnlyTheClustersOfTheMigratedDataDirectory) {
  cluster("15/moved", "/tank/pg/data");
  cluster("15/again", "/tank/pg/data/");  // the same directory, written with its slash
  cluster("15/main", "/var/lib/postgresql/15/main");
  cluster("16/other", "/tank/pg/data2");
  write(root_ / "15" / "stray.conf", "not a cluster\n");
  auto removed = remove_debian_clusters("/tank/pg/data", root_.string());
  ASSERT_TRUE(removed.ok()) << removed.status().message();
  std::sort(removed->begin(), removed->end());
  EXPECT_EQ(*removed, (std::vector<std::string>{"15/again", "15/moved"}));
  EXPECT_FALSE(fs::exists(root_ / "15" / "moved"));
  EXPECT_FALSE(fs::exists(root_ / "15" / "again"));
  EXPECT_TRUE(fs::exists(root_ / "15" / "main" / "postgresql.conf"));
  EXPECT_TRUE(fs::exists(root_ / "16" / "other" / "postgresql.conf"));
  EXPECT_TRUE(fs::exists(root_ / "15" / "stray.conf"));
}

TEST_F(DebianAbort, NoConfigurationRootIsNothingToDo) {
  auto removed = remove_debian_clusters("/tank/pg/data", (root_ / "absent").string());
  ASSERT_TRUE(removed.ok()) << removed.status().message();
  EXPECT_TRUE(removed->empty());
}

TEST_F(DebianAbort, ALinkedClusterDirectoryIsLeftAlone) {
  cluster("elsewhere/moved", "/tank/pg/data");
  fs::create_directories(root_ / "15");
  fs::create_symlink(root_ / "elsewhere" / "moved", root_ / "15" / "moved");
  auto removed = remove_debian_clusters("/tank/pg/data", root_.string());
  ASSERT_TRUE(removed.ok()) << removed.status().message();
  EXPECT_TRUE(removed->empty());
  EXPECT_TRUE(fs::exists(root_ / "elsewhere" / "moved" / "postgresql.conf"));
}

// The far pgmigrate's state directory is $PGMIGRATE_STATE_DIR here: a temporary one per test.
class FarLogTail : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir("pgm-far-log");
    ASSERT_FALSE(dir_.empty());
    ::setenv("PGMIGRATE_STATE_DIR", dir_.c_str(), 1);  // NOLINT(concurrency-mt-unsafe): single-threaded test
  }
  void TearDown() override {
    ::unsetenv("PGMIGRATE_STATE_DIR");  // NOLINT(concurrency-mt-unsafe): single-threaded test
    fs::remove_all(dir_);
  }
  Result<nlohmann::json> tail(std::uint64_t bytes) {
    TargetRequest r;
    r.dataset = "tank/pg";
    r.far_log = bytes;
    CancelToken cancel;
    return run_target(r, cancel, nullptr);
  }
  fs::path dir_;
};

TEST_F(FarLogTail, GivesTheEndInWholeLines) {
  write(dir_ / journal::kFarLogName, "first line\nsecond line\nthird\n");
  auto j = tail(10);  // ends inside "second line": that line is left out whole
  ASSERT_TRUE(j.ok()) << j.status().message();
  EXPECT_EQ((*j)["far_log"], "third\n");
  EXPECT_EQ((*j)["far_log_size"], 29U);
  EXPECT_EQ((*j)["far_log_path"], (dir_ / journal::kFarLogName).string());
  auto all = tail(1000);
  ASSERT_TRUE(all.ok()) << all.status().message();
  EXPECT_EQ((*all)["far_log"], "first line\nsecond line\nthird\n");
}

TEST_F(FarLogTail, NoLogYetIsAnEmptyAnswer) {
  auto j = tail(1000);
  ASSERT_TRUE(j.ok()) << j.status().message();
  EXPECT_EQ((*j)["far_log"], "");
  EXPECT_EQ((*j)["far_log_size"], 0U);
}

}  // namespace
}  // namespace pgm::migrate
