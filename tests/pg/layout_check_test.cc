#include "pg/layout_check.h"

#include <gtest/gtest.h>

namespace pgm::pg {
namespace {

const std::vector<MountedDataset> kMounted = {
    {"tank", "/tank"},         {"tank/pg", "/tank/pg"},   {"tank/pg/wal", "/tank/pg/wal"},
    {"tank/pgx", "/tank/pgx"}, {"tank/legacy", "legacy"}, {"tank/none", "none"},
};

TEST(Layout, FindsTheDeepestDatasetByPathComponents) {
  EXPECT_EQ(dataset_for_path(kMounted, "/tank/pg/data")->name, "tank/pg");
  EXPECT_EQ(dataset_for_path(kMounted, "/tank/pg")->name, "tank/pg");
  EXPECT_EQ(dataset_for_path(kMounted, "/tank/pg/wal/pg_wal")->name, "tank/pg/wal");
  EXPECT_EQ(dataset_for_path(kMounted, "/tank/pgx/data")->name, "tank/pgx");  // not tank/pg
  EXPECT_EQ(dataset_for_path(kMounted, "/tank/other")->name, "tank");
  EXPECT_EQ(dataset_for_path(kMounted, "/var/lib/postgresql"), nullptr);
}

TEST(Layout, AcceptsEverythingInOneDataset) {
  auto rep = judge_layout({{"data directory", "/tank/pg/data"}, {"pg_wal", "/tank/pg/data/pg_wal"}}, kMounted, {"tank/pg"});
  EXPECT_TRUE(rep.ok());
  EXPECT_TRUE(rep.notes.empty());
}

TEST(Layout, RefusesWalOnAnotherDataset) {
  auto rep = judge_layout({{"data directory", "/tank/pg/data"}, {"pg_wal", "/tank/pg/wal/pg_wal"}}, kMounted, {"tank/pg"});
  ASSERT_EQ(rep.problems.size(), 1u);
  EXPECT_NE(rep.problems[0].find("pg_wal /tank/pg/wal/pg_wal is on dataset tank/pg/wal"), std::string::npos) << rep.problems[0];
  EXPECT_FALSE(rep.items[1].inside);
}

TEST(Layout, AcceptsSeveralDatasetsWhenAllNamedAndSaysSnapshotThemTogether) {
  auto rep = judge_layout({{"data directory", "/tank/pg/data"}, {"pg_wal", "/tank/pg/wal/pg_wal"}, {"tablespace fast", "/tank/pgx/ts"}},
                          kMounted, {"tank/pg", "tank/pg/wal", "tank/pgx"});
  EXPECT_TRUE(rep.ok());
  ASSERT_EQ(rep.notes.size(), 1u);
  EXPECT_NE(rep.notes[0].find("atomic"), std::string::npos);
}

TEST(Layout, RefusesPathsOutsideZfs) {
  auto rep = judge_layout({{"data directory", "/tank/pg/data"}, {"tablespace cold", "/mnt/disk/ts"}}, kMounted, {"tank/pg"});
  ASSERT_EQ(rep.problems.size(), 1u);
  EXPECT_NE(rep.problems[0].find("not on any mounted ZFS dataset"), std::string::npos);
}

TEST(Layout, RefusalNamesTheFirstProblemAndCountsTheRest) {
  LayoutReport rep;
  EXPECT_TRUE(layout_refusal(rep).ok());
  rep.problems = {"pg_wal is outside", "tablespace fast is outside"};
  const Status st = layout_refusal(rep);
  EXPECT_EQ(st.code(), Errc::postgres);
  EXPECT_EQ(st.message(),
            "a snapshot of this layout would not be a consistent standby: pg_wal is outside (and 1 more problem(s) listed above)");
  rep.problems.pop_back();
  EXPECT_EQ(layout_refusal(rep).message(), "a snapshot of this layout would not be a consistent standby: pg_wal is outside");
}

}  // namespace
}  // namespace pgm::pg
