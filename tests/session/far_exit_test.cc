// explain_far_exit for a far command that the privilege wrapper refused: what sudo printed, run
// for real through a local shell standing in for the far host's.
#include <gtest/gtest.h>

#include "session/internal.h"

namespace pgm::session {
namespace {

Status far_exit_of(const std::string& command, const Remote& remote) {
  transport::LocalConnector local;
  CancelToken cancel;
  auto ch = local.exec(command, cancel);
  EXPECT_TRUE(ch.ok());
  if (!ch.ok()) return ch.status();
  return explain_far_exit(**ch, remote, Status(Errc::network, "the control channel closed"));
}

Remote elevated() {
  Remote r;
  r.host_label = "db2";
  r.remote_bin = "pgmigrate";
  r.elevation = "sudo -n";
  r.login_user = "ubuntu";
  return r;
}

TEST(FarExit, SudoThatWantsAPasswordNamesHostUserAndBothFixes) {
  const Status s = far_exit_of("echo 'sudo: a password is required' >&2; exit 1", elevated());
  EXPECT_EQ(s.code(), Errc::auth);
  EXPECT_EQ(s.message(),
            "on db2, 'sudo -n' refused to run pgmigrate for ubuntu (sudo: a password is required): allow ubuntu to run it without a "
            "password (a sudoers line: docs/usage.md), or delegate ZFS with `zfs allow` and pass --no-sudo");
}

TEST(FarExit, PgmigrateMissingForSudoIsNotFound) {
  const Status s = far_exit_of("echo 'sudo: pgmigrate: command not found' >&2; exit 1", elevated());
  EXPECT_EQ(s.code(), Errc::not_found);
  EXPECT_NE(s.message().find("secure_path"), std::string::npos) << s.message();
}

TEST(FarExit, AFarPgmigrateErrorIsPassedOnUnderSudo) {
  const Status s = far_exit_of("echo 'pgmigrate: cannot open tank/x' >&2; exit 1", elevated());
  EXPECT_EQ(s.message(), "on db2: cannot open tank/x");
}

TEST(FarExit, WithoutAWrapperSudoLikeTextIsNotBlamedOnSudo) {
  Remote r = elevated();
  r.elevation.clear();
  const Status s = far_exit_of("echo 'sudo: a password is required' >&2; exit 1", r);
  EXPECT_EQ(s.message(), "on db2: sudo: a password is required");
}

}  // namespace
}  // namespace pgm::session
