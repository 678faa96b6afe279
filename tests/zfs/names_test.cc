#include <gtest/gtest.h>

#include "zfs/zfs.h"

namespace pgm {
namespace {

TEST(ZfsNames, AcceptsPlainNames) {
  EXPECT_TRUE(zfs::validate_dataset("tank").ok());
  EXPECT_TRUE(zfs::validate_dataset("tank/pg-data_15/main.v2:x").ok());
  EXPECT_TRUE(zfs::validate_snapshot("tank/pgdata@pgmigrate-1-base").ok());
}

TEST(ZfsNames, RejectsAnythingAShellCouldRead) {
  for (const char* bad : {"", "/tank", "tank/", "tank//x", "tank/../etc", "tank/.", "tank fs", "tank;rm -rf /", "tank/$(id)", "tank/`id`",
                          "tank/a|b", "tank/a&b", "tank/'x'", "tank/\"x\"", "tank/x\ny", "-tank", "tank/-o", "tank/a>b", "tank/*"}) {
    auto s = zfs::validate_dataset(bad);
    EXPECT_FALSE(s.ok()) << bad;
    if (!s.ok()) {
      EXPECT_EQ(s.code(), Errc::invalid_argument);
    }
  }
  for (const char* bad : {"tank", "tank@", "@snap", "tank@a@b", "tank@a;b", "tank@$(id)", "tank@-x"})
    EXPECT_FALSE(zfs::validate_snapshot(bad).ok()) << bad;
  EXPECT_FALSE(zfs::validate_dataset(std::string(300, 'a')).ok());
}

TEST(ZfsNames, IncrementalBase) {
  EXPECT_EQ(*zfs::resolve_incremental_base("@a", "tank/fs@b"), "tank/fs@a");
  EXPECT_EQ(*zfs::resolve_incremental_base("tank/fs@a", "tank/fs@b"), "tank/fs@a");
  EXPECT_FALSE(zfs::resolve_incremental_base("@a;b", "tank/fs@b").ok());
}

TEST(ZfsNames, BookmarkBase) {
  EXPECT_EQ(*zfs::resolve_incremental_base("#a", "tank/fs@b"), "tank/fs#a");
  EXPECT_EQ(*zfs::resolve_incremental_base("tank/fs#a", "tank/fs@b"), "tank/fs#a");
  EXPECT_TRUE(zfs::is_bookmark("tank/fs#a"));
  EXPECT_FALSE(zfs::is_bookmark("tank/fs@a"));
  for (const char* bad : {"#", "#a#b", "tank/fs#a@b", "#$(id)", "#-x", "tank/f;s#a", "tank@x#a"})
    EXPECT_FALSE(zfs::resolve_incremental_base(bad, "tank/fs@b").ok()) << bad;
}

TEST(ZfsArgs, BookmarkBaseOnlyWithDashIAndWhereZfsHasIt) {
  zfs::Capabilities openzfs;
  openzfs.send_from_bookmark = true;
  zfs::SendFlags f;
  f.incremental = "#a";
  EXPECT_EQ(*zfs::send_args("tank/fs@b", f, openzfs), (std::vector<std::string>{"send", "-i", "tank/fs#a", "tank/fs@b"}));
  auto fuse = zfs::send_args("tank/fs@b", f, zfs::Capabilities{});
  ASSERT_FALSE(fuse.ok());
  EXPECT_EQ(fuse.status().code(), Errc::unsupported);
  EXPECT_NE(fuse.status().message().find("cannot send from a bookmark"), std::string::npos) << fuse.status().message();
  zfs::SendFlags big_i;
  big_i.intermediate = "tank/fs#a";
  auto no = zfs::send_args("tank/fs@b", big_i, openzfs);
  ASSERT_FALSE(no.ok());
  EXPECT_EQ(no.status().code(), Errc::invalid_argument);
  EXPECT_NE(no.status().message().find("use -i tank/fs#a"), std::string::npos) << no.status().message();
}

TEST(ZfsArgs, SendAndRecvArgv) {
  zfs::Capabilities caps;
  zfs::SendFlags f;
  f.incremental = "@a";
  f.props = true;
  auto args = zfs::send_args("tank/fs@b", f, caps);
  ASSERT_TRUE(args.ok());
  EXPECT_EQ(*args, (std::vector<std::string>{"send", "-p", "-i", "tank/fs@a", "tank/fs@b"}));
  zfs::RecvFlags r;
  r.force = true;
  EXPECT_EQ(*zfs::recv_args("tank/fs", r, caps), (std::vector<std::string>{"receive", "-F", "tank/fs"}));
  r.resumable = true;
  auto no = zfs::recv_args("tank/fs", r, caps);
  ASSERT_FALSE(no.ok());
  EXPECT_EQ(no.status().code(), Errc::unsupported);
}

TEST(ZfsArgs, OpenZfsPassThroughFlagsOrRefusalsInOneLine) {
  zfs::Capabilities none;  // zfs-fuse: none of them
  zfs::Capabilities all;
  all.send_raw = all.send_compressed = all.send_large_blocks = all.send_embedded = true;
  all.recv_no_mount = all.recv_set_props = all.recv_exclude_props = true;
  zfs::SendFlags f;
  f.raw = f.compressed = f.large_blocks = f.embedded = true;
  EXPECT_EQ(*zfs::send_args("tank/fs@b", f, all), (std::vector<std::string>{"send", "-w", "-c", "-L", "-e", "tank/fs@b"}));
  auto refused = zfs::send_args("tank/fs@b", f, none);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Errc::unsupported);
  EXPECT_NE(refused.status().message().find("'send -w'"), std::string::npos) << refused.status().message();
  EXPECT_NE(refused.status().message().find("drop --raw"), std::string::npos);

  zfs::RecvFlags r;
  r.no_mount = true;
  r.set_props = {{"mountpoint", "/srv/pg new"}, {"com.example:owner", "db team"}};
  r.exclude_props = {"compression"};
  EXPECT_EQ(*zfs::recv_args("tank/fs", r, all), (std::vector<std::string>{"receive", "-u", "-o", "mountpoint=/srv/pg new", "-o",
                                                                          "com.example:owner=db team", "-x", "compression", "tank/fs"}));
  for (auto strip : {0, 1, 2}) {
    zfs::Capabilities some = all;
    if (strip == 0) some.recv_no_mount = false;
    if (strip == 1) some.recv_set_props = false;
    if (strip == 2) some.recv_exclude_props = false;
    auto no = zfs::recv_args("tank/fs", r, some);
    ASSERT_FALSE(no.ok()) << strip;
    EXPECT_EQ(no.status().code(), Errc::unsupported);
  }
  zfs::RecvFlags bad;
  bad.set_props = {{"mount;point", "x"}};
  EXPECT_EQ(zfs::recv_args("tank/fs", bad, all).status().code(), Errc::invalid_argument);
  bad.set_props = {{"mountpoint", "a\nb"}};
  EXPECT_EQ(zfs::recv_args("tank/fs", bad, all).status().code(), Errc::invalid_argument);
  bad.set_props.clear();
  bad.exclude_props = {"-F"};  // never an option of zfs itself
  EXPECT_EQ(zfs::recv_args("tank/fs", bad, all).status().code(), Errc::invalid_argument);
}

}  // namespace
}  // namespace pgm
