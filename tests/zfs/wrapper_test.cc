// Zfs through a privilege wrapper (a near pgmigrate run by a normal user): the wrapper comes
// first on every command line, and its own refusal is one line naming the command, the user and
// the fixes, never taken for zfs's output. Real processes: `env` stands in for a wrapper that
// runs its arguments, a small script for one that refuses, /bin/echo and /bin/false for zfs.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "zfs/zfs.h"

namespace pgm::zfs {
namespace {

TEST(ZfsWrapper, RunsEveryCommandThroughTheWrapper) {
  const Zfs zfs = Zfs::with_wrapper("env", "/bin/echo");
  EXPECT_EQ(zfs.argv({"send", "tank/a@b"}), (std::vector<std::string>{"env", "/bin/echo", "send", "tank/a@b"}));
  auto out = zfs.run({"list", "-H", "tank/a"});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_TRUE(out->success());
  EXPECT_EQ(out->out, "list -H tank/a\n");
  // Without a wrapper nothing is put before zfs.
  EXPECT_EQ(Zfs::with_wrapper("", "/bin/echo").argv({"list"}), (std::vector<std::string>{"/bin/echo", "list"}));
}

TEST(ZfsWrapper, TheWrappersRefusalIsOneLineNamingCommandUserAndFixes) {
  char dir[] = "/tmp/pgm-wrapper-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string script = std::string(dir) + "/fakesudo";
  std::ofstream(script) << "#!/bin/sh\necho 'fakesudo: a password is required' >&2\nexit 1\n";
  ASSERT_EQ(::chmod(script.c_str(), 0700), 0);
  const Zfs zfs = Zfs::with_wrapper(script + " -n", "/bin/echo");
  auto caps = zfs.capabilities();
  ASSERT_FALSE(caps.ok());
  EXPECT_EQ(caps.status().code(), Errc::auth);
  const std::string m = caps.status().message();
  EXPECT_TRUE(m.starts_with("on ")) << m;
  EXPECT_NE(m.find("'" + script + " -n' refused to run '/bin/echo send' for "), std::string::npos) << m;
  EXPECT_NE(m.find("(fakesudo: a password is required)"), std::string::npos) << m;
  EXPECT_NE(m.find("zfs allow"), std::string::npos) << m;
  EXPECT_NE(m.find("--no-sudo"), std::string::npos) << m;
  EXPECT_EQ(m.find("did not print its usage"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  // The administrative commands say the same.
  EXPECT_EQ(zfs.snapshot("tank/a@b").code(), Errc::auth);
  std::remove(script.c_str());
  ::rmdir(dir);
}

TEST(ZfsWrapper, ZfsFailingUnderTheWrapperIsZfssOwnFailure) {
  const Zfs zfs = Zfs::with_wrapper("env", "/bin/false");
  auto exists = zfs.exists("tank/a");
  ASSERT_FALSE(exists.ok());
  EXPECT_EQ(exists.status().code(), Errc::child_failed) << exists.status().message();
}

}  // namespace
}  // namespace pgm::zfs
