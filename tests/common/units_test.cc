#include "common/units.h"

#include <gtest/gtest.h>

namespace pgm {
namespace {

TEST(ParseSize, AcceptsUnits) {
  EXPECT_EQ(*parse_size("4096"), 4096u);
  EXPECT_EQ(*parse_size("4K"), 4096u);
  EXPECT_EQ(*parse_size("4k"), 4096u);
  EXPECT_EQ(*parse_size("4KiB"), 4096u);
  EXPECT_EQ(*parse_size("1.5M"), 1572864u);
  EXPECT_EQ(*parse_size("2G"), 2147483648u);
  EXPECT_EQ(*parse_size("1T"), 1099511627776u);
  EXPECT_EQ(*parse_size("512 MB"), 536870912u);
}

TEST(ParseSize, RejectsJunk) {
  for (const char* bad : {"", "-1", "abc", "4X", "4KB5", "1e9", "0x10", "1.5", "99999999999999999999T", "4 K B", ".", "M"}) {
    auto r = parse_size(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Errc::invalid_argument);
    }
  }
}

TEST(ParseDuration, AcceptsUnits) {
  EXPECT_EQ(parse_duration("30")->count(), 30000);
  EXPECT_EQ(parse_duration("30s")->count(), 30000);
  EXPECT_EQ(parse_duration("250ms")->count(), 250);
  EXPECT_EQ(parse_duration("10m")->count(), 600000);
  EXPECT_EQ(parse_duration("2h")->count(), 7200000);
  EXPECT_EQ(parse_duration("1.5s")->count(), 1500);
  for (const char* bad : {"", "s", "10 parsecs", "-5s", "1e3"}) EXPECT_FALSE(parse_duration(bad).ok()) << bad;
}

TEST(Units, ParseRateIsDecimalLikeTheProgressLine) {
  EXPECT_EQ(*parse_rate("50M"), 50'000'000u);
  EXPECT_EQ(*parse_rate("50MB/s"), 50'000'000u);
  EXPECT_EQ(*parse_rate("1.5G"), 1'500'000'000u);
  EXPECT_EQ(*parse_rate("800k"), 800'000u);
  EXPECT_EQ(*parse_rate("4MiB"), 4u << 20);
  EXPECT_EQ(*parse_rate("123"), 123u);
  EXPECT_EQ(*parse_rate("0"), 0u);
  EXPECT_EQ(*parse_rate("none"), 0u);
  for (const char* bad : {"", "fast", "10 parsecs", "-5M", "5Mbit", "/s"}) EXPECT_FALSE(parse_rate(bad).ok()) << bad;
}

TEST(Format, HumanUnits) {
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(1536), "1.50 KiB");
  EXPECT_EQ(format_rate(12.34e6), "12.3 MB/s");
  EXPECT_EQ(format_duration(4.25), "4.2s");
  EXPECT_EQ(format_duration(3723), "1h02m03s");
  EXPECT_EQ(format_duration(5.1666e+97), ">30y");
}

}  // namespace
}  // namespace pgm
