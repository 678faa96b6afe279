// The error-as-value helpers of pgmigrate/status.h.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "pgmigrate/status.h"

namespace pgm {
namespace {

Result<std::unique_ptr<int>> make(int v) {
  if (v < 0) return Status(Errc::invalid_argument, "negative");
  return std::make_unique<int>(v);
}

int calls = 0;
Result<int> counted(int v) {
  ++calls;
  return v;
}

Result<int> twice(int v) {
  PGM_ASSIGN_OR_RETURN(auto p, make(v));  // a move-only value
  PGM_ASSIGN_OR_RETURN(const int w, counted(*p));
  return 2 * w;
}

TEST(AssignOrReturn, TakesTheValueOrReturnsTheError) {
  calls = 0;
  auto r = twice(21);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 42);
  EXPECT_EQ(calls, 1);  // evaluated once
  auto bad = twice(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Errc::invalid_argument);
  EXPECT_EQ(bad.status().message(), "negative");
  EXPECT_EQ(calls, 1);  // nothing after the failed one ran
}

}  // namespace
}  // namespace pgm
