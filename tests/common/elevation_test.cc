// The privilege wrapper both halves share: when it applies, the argv it builds for a local
// command, and how its refusal is told apart from the command's own failure.
#include <gtest/gtest.h>

#include "common/elevation.h"

namespace pgm {
namespace {

TEST(PrivilegeWrapper, OnlyANormalUserWithoutNoSudoGetsOne) {
  EXPECT_EQ(privilege_wrapper(false, false, "sudo -n"), "sudo -n");
  EXPECT_EQ(privilege_wrapper(true, false, "sudo -n"), "");
  EXPECT_EQ(privilege_wrapper(false, true, "sudo -n"), "");
}

TEST(ElevatedArgv, PutsTheWrapperWordsFirst) {
  EXPECT_EQ(elevated_argv("sudo -n", {"/usr/sbin/zfs", "send", "tank/a@b"}),
            (std::vector<std::string>{"sudo", "-n", "/usr/sbin/zfs", "send", "tank/a@b"}));
  EXPECT_EQ(elevated_argv("  doas\t-n ", {"zfs"}), (std::vector<std::string>{"doas", "-n", "zfs"}));
  EXPECT_EQ(elevated_argv("", {"zfs", "list"}), (std::vector<std::string>{"zfs", "list"}));
}

TEST(WrapperRefusal, IsTheWrappersOwnLastLine) {
  EXPECT_TRUE(is_wrapper_refusal("sudo -n", "sudo: a password is required"));
  EXPECT_TRUE(is_wrapper_refusal("/usr/bin/doas", "doas: Operation not permitted"));
  // zfs's own failure, even with a sudo warning before it, is not a refusal.
  EXPECT_FALSE(is_wrapper_refusal("sudo -n", "sudo: unable to resolve host x\ncannot open 'tank/x': dataset does not exist"));
  EXPECT_FALSE(is_wrapper_refusal("sudo -n", ""));
  EXPECT_FALSE(is_wrapper_refusal("", "sudo: a password is required"));
}

TEST(WrapperSaid, IsTheLastNonEmptyLine) {
  EXPECT_EQ(wrapper_said("sudo: a password is required\n"), "sudo: a password is required");
  EXPECT_EQ(wrapper_said("sudo: unable to resolve host x\nsudo: a password is required\r\n\n"), "sudo: a password is required");
  EXPECT_EQ(wrapper_said(""), "");
  // What run_as_owner_prefix's callers test: the wrapper's refusal after a trailing newline.
  EXPECT_TRUE(is_wrapper_refusal("sudo -n", wrapper_said("sudo: a password is required\n")));
}

TEST(ElevationRefused, NamesWhereWhatWhoAndBothFixes) {
  Status s = elevation_refused("db1", "sudo -n", "'/usr/sbin/zfs send'", "alice", "sudo: a password is required");
  EXPECT_EQ(s.code(), Errc::auth);
  EXPECT_EQ(s.message(),
            "on db1, 'sudo -n' refused to run '/usr/sbin/zfs send' for alice (sudo: a password is required): allow alice to run it "
            "without a password (a sudoers line: docs/usage.md), or delegate ZFS with `zfs allow` and pass --no-sudo");
}

}  // namespace
}  // namespace pgm
