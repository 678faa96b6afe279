// The OpenZFS pass-through settings: their words (recorded in a migration's state) and the
// flags of each side they become.
#include "zfs/flag_settings.h"

#include <gtest/gtest.h>

namespace pgm {
namespace {

TEST(FlagSettings, WordsInAFixedOrder) {
  zfs::FlagSettings s;
  EXPECT_TRUE(zfs::flag_words(s).empty());
  s.embedded = true;
  s.raw = true;
  s.no_mount = true;
  s.exclude_props = {"atime"};
  s.set_props = {"mountpoint=/srv"};
  EXPECT_EQ(zfs::flag_words(s),
            (std::vector<std::string>{"--raw", "--embed", "--no-mount", "--recv-set=mountpoint=/srv", "--recv-exclude=atime"}));
}

TEST(FlagSettings, AppliedToEachSide) {
  zfs::FlagSettings s;
  s.compressed = s.large_blocks = true;
  s.exclude_props = {"atime"};
  zfs::SendFlags send;
  zfs::RecvFlags recv;
  ASSERT_TRUE(zfs::apply_flags(s, false, false, send, recv).ok());
  EXPECT_TRUE(send.compressed);
  EXPECT_TRUE(send.large_blocks);
  EXPECT_FALSE(send.raw);
  EXPECT_EQ(recv.exclude_props, std::vector<std::string>{"atime"});
}

TEST(FlagSettings, Refusals) {
  zfs::SendFlags send;
  zfs::RecvFlags recv;
  zfs::FlagSettings s;
  s.raw = true;
  EXPECT_EQ(zfs::apply_flags(s, true, false, send, recv).message(), "-w/-c/-L/-e are flags of zfs send: --send-cmd replaces it");
  s = {};
  s.set_props = {"mountpoint"};
  EXPECT_EQ(zfs::apply_flags(s, false, false, send, recv).message(),
            "--recv-set takes PROP=VALUE (e.g. mountpoint=/srv/pg), not 'mountpoint'");
  s.set_props = {"bad name=1"};
  EXPECT_FALSE(zfs::apply_flags(s, false, false, send, recv).ok());
}

}  // namespace
}  // namespace pgm
