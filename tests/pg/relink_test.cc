// Pointing a received data directory's pg_wal and tablespace links at the received datasets:
// the pure path mapping, and the links themselves in a temp dir (real files, no server).
#include "pg/relink.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>

#include "pg/test_files.h"

namespace pgm::pg {
namespace {
namespace fs = std::filesystem;

TEST(Relink, ParseRelocation) {
  auto r = parse_relocation("/src/pg/wal/=/dst/pg/wal");
  ASSERT_TRUE(r) << r.status().message();
  EXPECT_EQ(r->from, "/src/pg/wal");
  EXPECT_EQ(r->to, "/dst/pg/wal");
  EXPECT_FALSE(parse_relocation("/src/pg"));
  EXPECT_FALSE(parse_relocation("src=/dst"));
  EXPECT_FALSE(parse_relocation("/src="));
}

TEST(Relink, RelocateLink) {
  const std::vector<Relocation> moves{{"/s/pg", "/d/pg"}, {"/s/pg/wal", "/d/pg/wal"}, {"/elsewhere/ts", "/d/pg/ts1"}};
  // The longest source mountpoint that holds the link wins (a child mounted below its parent).
  EXPECT_EQ(*relocate_link("/s/pg/wal/pg_wal", moves), "/d/pg/wal/pg_wal");
  EXPECT_EQ(*relocate_link("/s/pg/data/x", moves), "/d/pg/data/x");
  EXPECT_EQ(*relocate_link("/elsewhere/ts/PG_15", moves), "/d/pg/ts1/PG_15");
  // Already relocated (a second run): left as it is.
  EXPECT_EQ(*relocate_link("/d/pg/wal/pg_wal", moves), "/d/pg/wal/pg_wal");
  // Whole components only, and nothing outside the tree.
  EXPECT_FALSE(relocate_link("/s/pgx/wal", moves));
  auto outside = relocate_link("/var/lib/other", moves);
  ASSERT_FALSE(outside);
  EXPECT_NE(outside.status().message().find("outside every migrated dataset"), std::string::npos);
}

class ReceivedTree : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = test_files::make_temp_dir("pgm-relink-test");
    ASSERT_FALSE(root_.empty());
    fs::create_directories(root_ / "dst" / "data" / "pg_tblspc");
    fs::create_directories(root_ / "dst" / "wal" / "pg_wal");
    fs::create_directories(root_ / "dst" / "ts1" / "ts");
    // As received: the links still name the source's mountpoints.
    fs::create_symlink(root_ / "src" / "wal" / "pg_wal", root_ / "dst" / "data" / "pg_wal");
    fs::create_symlink(root_ / "src" / "ts1" / "ts", root_ / "dst" / "data" / "pg_tblspc" / "16384");
    dir_.path = (root_ / "dst" / "data").string();
    dir_.major = 15;
    dir_.owner_uid = ::geteuid();
    dir_.owner_gid = ::getegid();
    moves_ = {{(root_ / "src").string(), (root_ / "dst").string()},
              {(root_ / "src" / "wal").string(), (root_ / "dst" / "wal").string()},
              {(root_ / "src" / "ts1").string(), (root_ / "dst" / "ts1").string()}};
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path data() const { return root_ / "dst" / "data"; }

  fs::path root_;
  DataDir dir_;
  std::vector<Relocation> moves_;
};

TEST_F(ReceivedTree, PointsLinksAtTheReceivedDatasets) {
  auto done = relink_data_dir(dir_, moves_);
  ASSERT_TRUE(done) << done.status().message();
  EXPECT_EQ(done->size(), 2U);
  EXPECT_EQ(fs::read_symlink(data() / "pg_wal"), root_ / "dst" / "wal" / "pg_wal");
  EXPECT_EQ(fs::read_symlink(data() / "pg_tblspc" / "16384"), root_ / "dst" / "ts1" / "ts");
  // A second run finds nothing to do.
  auto again = relink_data_dir(dir_, moves_);
  ASSERT_TRUE(again) << again.status().message();
  EXPECT_TRUE(again->empty());
}

TEST_F(ReceivedTree, RefusesALinkOutsideTheTreeAndChangesNothing) {
  fs::create_symlink("/etc", data() / "pg_tblspc" / "16999");
  auto done = relink_data_dir(dir_, moves_);
  ASSERT_FALSE(done);
  EXPECT_NE(done.status().message().find("outside every migrated dataset"), std::string::npos);
  EXPECT_EQ(fs::read_symlink(data() / "pg_wal"), root_ / "src" / "wal" / "pg_wal");
}

TEST_F(ReceivedTree, RefusesATargetReachedThroughALink) {
  // The received ts1 holds a link where the tablespace directory should be: never followed.
  fs::remove(root_ / "dst" / "ts1" / "ts");
  fs::create_directories(root_ / "victim");
  fs::create_symlink(root_ / "victim", root_ / "dst" / "ts1" / "ts");
  auto done = relink_data_dir(dir_, moves_);
  ASSERT_FALSE(done);
  EXPECT_NE(done.status().message().find("is a symbolic link: refusing to follow it"), std::string::npos) << done.status().message();
  EXPECT_EQ(fs::read_symlink(data() / "pg_wal"), root_ / "src" / "wal" / "pg_wal");
}

TEST_F(ReceivedTree, LeavesRelativeLinksAndDirectoriesAlone) {
  fs::remove(data() / "pg_wal");
  fs::create_directory(data() / "pg_wal");
  fs::remove(data() / "pg_tblspc" / "16384");
  fs::create_symlink("../../ts1/ts", data() / "pg_tblspc" / "16384");
  auto done = relink_data_dir(dir_, moves_);
  ASSERT_TRUE(done) << done.status().message();
  EXPECT_TRUE(done->empty());
  EXPECT_EQ(fs::read_symlink(data() / "pg_tblspc" / "16384"), "../../ts1/ts");
}

}  // namespace
}  // namespace pgm::pg
