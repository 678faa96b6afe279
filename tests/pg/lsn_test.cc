#include "pg/lsn.h"

#include <gtest/gtest.h>

namespace pgm::pg {
namespace {

TEST(Lsn, ParsesAndPrintsLikePostgres) {
  auto l = Lsn::parse("16/B374D848");
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->value, (0x16ull << 32) | 0xB374D848ull);
  EXPECT_EQ(l->str(), "16/B374D848");
  EXPECT_EQ(Lsn::parse("0/0")->value, 0u);
  EXPECT_EQ(Lsn{0}.str(), "0/0");
  EXPECT_EQ(Lsn::parse("0/3000060")->str(), "0/3000060");
  EXPECT_EQ(Lsn::parse("ffffffff/ffffffff")->value, UINT64_MAX);
  EXPECT_EQ(Lsn::parse("a/b")->str(), "A/B");
}

TEST(Lsn, RejectsMalformed) {
  for (const char* bad : {"", "/", "0/", "/0", "16B374D848", "1/2/3", "g/0", "0/x", "123456789/0", "0/123456789", " 0/1", "0/1 "})
    EXPECT_FALSE(Lsn::parse(bad).has_value()) << bad;
}

TEST(Lsn, OrdersAndDiffs) {
  Lsn a = *Lsn::parse("0/FFFFFFFF"), b = *Lsn::parse("1/0");
  EXPECT_LT(a, b);
  EXPECT_EQ(lsn_bytes_behind(b, a), 1u);
  EXPECT_EQ(lsn_bytes_behind(a, b), 0u);  // never negative
  EXPECT_EQ(lsn_bytes_behind(*Lsn::parse("2/10"), *Lsn::parse("1/10")), 1ull << 32);
  EXPECT_EQ(lsn_bytes_behind(a, a), 0u);
}

}  // namespace
}  // namespace pgm::pg
