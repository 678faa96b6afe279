// Bounded reads (issue 20, item 8): a short command's stdout is read whole up to a cap and
// refused beyond it, never truncated silently.
#include <gtest/gtest.h>

#include "common/process.h"

namespace pgm {
namespace {

TEST(RunCommand, ReadsOutputUnderTheCap) {
  auto r = run_command({"/bin/sh", "-c", "printf hello; echo oops >&2"});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->success());
  EXPECT_EQ(r->out, "hello");
  EXPECT_EQ(r->err, "oops");
}

TEST(RunCommand, RefusesOutputOverTheCap) {
  // An endless writer: the cap must stop it, not memory.
  auto r = run_command({"/bin/sh", "-c", "yes pgmigrate"}, 1 << 20);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Errc::child_failed);
  EXPECT_NE(r.status().message().find("wrote more than"), std::string::npos) << r.status().message();
}

TEST(RunCommand, KeepsOnlyTheTailOfStderr) {
  auto r = run_command({"/bin/sh", "-c", "head -c 1000000 /dev/zero | tr '\\0' x >&2; echo last >&2"});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_LE(r->err.size(), 64u * 1024);
  EXPECT_EQ(r->err.substr(r->err.size() - 4), "last");
}

}  // namespace
}  // namespace pgm
