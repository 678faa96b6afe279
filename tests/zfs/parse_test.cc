// The parsers of `zfs` output, on what real ZFS printed: zfs-fuse 0.7 on this project's test
// machine (old command set: no -n/-P/-t/-s) and tests/tools/fake-openzfs (OpenZFS-style usage
// and `send -nvt`), plus OpenZFS's documented `send -nP` format.
#include <gtest/gtest.h>

#include "zfs/zfs.h"

namespace pgm {
namespace {

// `zfs send` / `zfs receive` without arguments, zfs-fuse 0.7.0 (stdout and stderr).
constexpr const char* kFuseSendUsage =
    "missing snapshot argument\n"
    "usage:\n"
    "\tsend [-RDp] [-[iI] snapshot] <snapshot>\n"
    "\n"
    "For the property list, run: zfs set|get\n"
    "\n"
    "For the delegated permission list, run: zfs allow|unallow\n";
constexpr const char* kFuseRecvUsage =
    "missing snapshot argument\n"
    "usage:\n"
    "\treceive [-vnF] <filesystem|volume|snapshot>\n"
    "\treceive [-vnF] -d <filesystem>\n"
    "\n"
    "For the property list, run: zfs set|get\n"
    "\n"
    "For the delegated permission list, run: zfs allow|unallow\n";
// The same from tests/tools/fake-openzfs (OpenZFS 2.x's lines).
constexpr const char* kOpenZfsSendUsage =
    "usage:\n"
    "\tsend [-DLPbcehnpsvw] [-i|-I snapshot] <snapshot>\n"
    "\tsend [-PVenv] -t <receive_resume_token>\n"
    "\tsend [-Lcew] [-i snapshot|bookmark] <snapshot>\n"
    "\n"
    "(fake-openzfs) FAKE OpenZFS for tests: not ZFS\n";
constexpr const char* kOpenZfsRecvUsage =
    "usage:\n"
    "\treceive [-FhMnsuv] [-o <property>=<value>] [-x <property>] <filesystem|volume|snapshot>\n"
    "\treceive -A <filesystem|volume>\n"
    "\n"
    "(fake-openzfs) FAKE OpenZFS for tests: not ZFS\n";

TEST(ZfsParse, CapabilitiesOfZfsFuse) {
  const zfs::Capabilities c = zfs::parse_capabilities(kFuseSendUsage, kFuseRecvUsage);
  EXPECT_FALSE(c.send_dry_run_parsable);
  EXPECT_FALSE(c.send_resume_token);
  EXPECT_FALSE(c.send_raw);
  EXPECT_FALSE(c.send_compressed);
  EXPECT_FALSE(c.send_large_blocks);
  EXPECT_TRUE(c.send_props);
  EXPECT_TRUE(c.send_replicate);
  EXPECT_FALSE(c.recv_resumable);
  EXPECT_FALSE(c.recv_no_mount);
  EXPECT_FALSE(c.send_embedded);
  EXPECT_FALSE(c.recv_set_props);
  EXPECT_FALSE(c.recv_exclude_props);
  EXPECT_FALSE(c.send_from_bookmark);
}

TEST(ZfsParse, CapabilitiesOfOpenZfs) {
  const zfs::Capabilities c = zfs::parse_capabilities(kOpenZfsSendUsage, kOpenZfsRecvUsage);
  EXPECT_TRUE(c.send_dry_run_parsable);
  EXPECT_TRUE(c.send_resume_token);
  EXPECT_TRUE(c.send_raw);
  EXPECT_TRUE(c.send_compressed);
  EXPECT_TRUE(c.send_large_blocks);
  EXPECT_TRUE(c.send_props);
  EXPECT_FALSE(c.send_replicate);  // this usage text has no -R
  EXPECT_TRUE(c.recv_resumable);
  EXPECT_TRUE(c.recv_no_mount);
  EXPECT_TRUE(c.send_embedded);
  EXPECT_TRUE(c.recv_set_props);
  EXPECT_TRUE(c.recv_exclude_props);
  EXPECT_TRUE(c.send_from_bookmark);
  // "recv" is accepted as the verb too.
  EXPECT_TRUE(zfs::parse_capabilities("", "\trecv [-su] <fs>\n").recv_resumable);
}

TEST(ZfsParse, UsageFlags) {
  EXPECT_TRUE(zfs::usage_has_flag(kFuseSendUsage, "send", 'R'));
  EXPECT_FALSE(zfs::usage_has_flag(kFuseSendUsage, "send", 'i'));  // "-[iI]" is not a group (nothing asks for -i)
  EXPECT_FALSE(zfs::usage_has_flag(kFuseSendUsage, "send", 'n'));
  EXPECT_FALSE(zfs::usage_has_flag(kFuseSendUsage, "receive", 'R'));  // no receive line
  EXPECT_FALSE(zfs::usage_has_flag(kFuseRecvUsage, "receive", 's'));
  EXPECT_TRUE(zfs::usage_has_flag(kFuseRecvUsage, "receive", 'd'));  // the second line
  EXPECT_FALSE(zfs::usage_has_flag("", "send", 'n'));
  EXPECT_FALSE(zfs::usage_has_flag("send -n", "", 'n'));
  EXPECT_FALSE(zfs::usage_has_flag("send -", "send", 'n'));
}

TEST(ZfsParse, FilesystemTree) {
  // `zfs list -H -o name -t filesystem -r h6pool/pg`: the dataset, then its descendants.
  const std::string out = "h6pool/pg\nh6pool/pg/ts1\nh6pool/pg/wal\nh6pool/pg/wal/x\n";
  EXPECT_EQ(zfs::parse_filesystem_tree(out, "h6pool/pg"),
            (std::vector<std::string>{"h6pool/pg", "h6pool/pg/ts1", "h6pool/pg/wal", "h6pool/pg/wal/x"}));
  EXPECT_EQ(zfs::parse_filesystem_tree(out, "h6pool/pg/wal"), (std::vector<std::string>{"h6pool/pg/wal", "h6pool/pg/wal/x"}));
  // Not "h6pool/pg2" for "h6pool/pg"; a last line without '\n' counts.
  EXPECT_EQ(zfs::parse_filesystem_tree("h6pool/pg2\nh6pool/pg", "h6pool/pg"), (std::vector<std::string>{"h6pool/pg"}));
  EXPECT_TRUE(zfs::parse_filesystem_tree("", "h6pool/pg").empty());
}

TEST(ZfsParse, SnapshotList) {
  // `zfs list -H -o name -t snapshot -r h6pool/fs` on zfs-fuse: the child's snapshot is listed too.
  const std::string out = "h6pool/fs@a\nh6pool/fs@b\nh6pool/fs/child@c\n";
  EXPECT_EQ(zfs::parse_snapshot_list(out, "h6pool/fs"), (std::vector<std::string>{"h6pool/fs@a", "h6pool/fs@b"}));
  EXPECT_EQ(zfs::parse_snapshot_list(out, "h6pool/fs/child"), (std::vector<std::string>{"h6pool/fs/child@c"}));
  EXPECT_TRUE(zfs::parse_snapshot_list(out, "h6pool").empty());
  EXPECT_TRUE(zfs::parse_snapshot_list("", "h6pool/fs").empty());
  // Not "h6pool/fs2@x" for "h6pool/fs"; a last line without '\n' counts.
  EXPECT_EQ(zfs::parse_snapshot_list("h6pool/fs2@x\nh6pool/fs@y", "h6pool/fs"), (std::vector<std::string>{"h6pool/fs@y"}));
}

TEST(ZfsParse, GetValues) {
  // `zfs get -Hp -o value guid h6pool/fs@a` and `... referenced ...` on zfs-fuse.
  EXPECT_EQ(zfs::parse_get_value("9364536568036489196\n"), "9364536568036489196");
  EXPECT_EQ(zfs::parse_get_value("122880\r\n\n"), "122880");
  EXPECT_EQ(zfs::parse_get_value(""), "");
  auto g = zfs::parse_u64_value("9364536568036489196", "guid", "h6pool/fs@a");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(*g, 9364536568036489196ULL);
  EXPECT_EQ(*zfs::parse_u64_value("122880", "size", "x"), 122880U);
  for (const char* bad : {"", "-", "12k", "0x10 ", "none"}) {
    auto r = zfs::parse_u64_value(bad, "guid", "tank/fs");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Errc::protocol);
    EXPECT_NE(r.status().message().find("unexpected guid '" + std::string(bad) + "' for tank/fs"), std::string::npos);
  }
}

TEST(ZfsParse, ResumeToken) {
  EXPECT_EQ(zfs::parse_resume_token("-\n"), "");
  EXPECT_EQ(zfs::parse_resume_token("1-abc-2e-7b22\n"), "1-abc-2e-7b22");
  EXPECT_EQ(zfs::parse_resume_token(""), "");
}

TEST(ZfsParse, TokenDescription) {
  // fake-openzfs `send -nvt TOKEN` (OpenZFS's format), then "\n" and the (empty) stderr.
  const std::string text =
      "resume token contents:\n"
      "nvlist version: 0\n"
      "\tfromguid = 0x0\n"
      "\tobject = 0x1\n"
      "\toffset = 0x20000\n"
      "\tbytes = 0x20000\n"
      "\ttoguid = 0x81f58464a7f877ec\n"
      "\ttoname = tank/pgdata@pgmigrate-1-base\n"
      "\n";
  auto info = zfs::parse_token_description(text);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->toname, "tank/pgdata@pgmigrate-1-base");
  EXPECT_EQ(info->toguid, 0x81f58464a7f877ecULL);

  auto bad = zfs::parse_token_description("\ncannot resume send: resume token is corrupt (invalid format)\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Errc::protocol);
  EXPECT_FALSE(zfs::parse_token_description("").ok());
  EXPECT_FALSE(zfs::parse_token_description("\ttoname = \n").ok());
}

TEST(ZfsParse, SendSize) {
  // OpenZFS `zfs send -nP tank/fs@a`.
  EXPECT_EQ(zfs::parse_send_size("full\ttank/fs@a\t12345678\nsize\t12345678\n"), 12345678U);
  EXPECT_EQ(zfs::parse_send_size("incremental\ta\ttank/fs@b\t4096\nsize\t4096\n"), 4096U);
  // zfs-fuse has no -n: its error and usage text say nothing about a size.
  EXPECT_EQ(zfs::parse_send_size("invalid option 'n'\nusage:\n\tsend [-RDp] [-[iI] snapshot] <snapshot>\n"), std::nullopt);
  EXPECT_EQ(zfs::parse_send_size(""), std::nullopt);
  EXPECT_EQ(zfs::parse_send_size("size"), 0U);
}

TEST(ZfsLogicalSize, PrefersLogicalreferenced) {
  const auto l = zfs::logical_size(1000, "2500", "2.00", "1.50x");
  EXPECT_EQ(l.bytes, 2500U);
  EXPECT_EQ(l.basis, "logicalreferenced");
}

TEST(ZfsLogicalSize, ScalesByTheMeasuredRatio) {
  // OpenZFS without logicalreferenced (older): refcompressratio, printed bare with -p.
  auto l = zfs::logical_size(1000, "", "2.00", "1.50x");
  EXPECT_EQ(l.bytes, 2000U);
  EXPECT_EQ(l.basis, "referenced x refcompressratio 2.00");
  // zfs-fuse 0.7: only compressratio, printed "1.52x" even with -p.
  l = zfs::logical_size(1000, "", "", "1.52x");
  EXPECT_EQ(l.bytes, 1520U);
  EXPECT_EQ(l.basis, "referenced x compressratio 1.52");
}

TEST(ZfsLogicalSize, StatesTheRatioItAssumes) {
  for (const char* ratio : {"", "-", "garbage", "0.5x", "1.5y"}) {
    const auto l = zfs::logical_size(1000, "-", "", ratio);
    EXPECT_EQ(l.bytes, 1000U) << ratio;
    EXPECT_NE(l.basis.find("1.00 is assumed"), std::string::npos) << ratio;
  }
}

// What zfs-fuse prints to a user who may not open its socket (/var/run/zfs/zfs_socket is root's):
// a refusal naming the user and the ways out, never "is ZFS installed?".
TEST(ZfsParse, RefusalNamesTheUserAndTheFixes) {
  const std::string fuse_denied = "connect: Permission denied\ninternal error: failed to initialize ZFS library\n";
  EXPECT_TRUE(zfs::is_refusal(fuse_denied));
  EXPECT_TRUE(zfs::is_refusal("cannot receive new filesystem stream: permission denied\n"));
  EXPECT_FALSE(zfs::is_refusal("cannot open 'tank/x': dataset does not exist\n"));
  const Status refused = zfs::refusal_or_failure("zfs send", fuse_denied);
  EXPECT_EQ(refused.code(), Errc::auth);
  EXPECT_NE(refused.message().find("'zfs send' was refused to "), std::string::npos) << refused.message();
  EXPECT_NE(refused.message().find("(connect: Permission denied)"), std::string::npos) << refused.message();
  EXPECT_NE(refused.message().find("sudo"), std::string::npos);
  EXPECT_NE(refused.message().find("zfs allow"), std::string::npos);
  EXPECT_EQ(refused.message().find("installed"), std::string::npos);
  const Status other = zfs::refusal_or_failure("zfs send", "zfs: something else\n");
  EXPECT_EQ(other.code(), Errc::unsupported);
  EXPECT_EQ(other.message(), "'zfs send' did not print its usage: zfs: something else");
}

}  // namespace
}  // namespace pgm
