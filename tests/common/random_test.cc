#include "common/random.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <set>
#include <vector>

#include "common/backoff.h"

namespace pgm {
namespace {

TEST(RandomBytes, FillsTheWholeSpan) {
  std::vector<std::uint8_t> buf(4096, 0);
  ASSERT_TRUE(random_bytes(buf).ok());
  // 4096 zero bytes by chance: 2^-32768.
  EXPECT_NE(std::count(buf.begin(), buf.end(), 0), 4096);
  std::array<std::uint8_t, 0> none{};
  EXPECT_TRUE(random_bytes(none).ok());
}

TEST(RandomBytes, TwoDrawsDiffer) {
  std::array<std::uint8_t, 16> a{}, b{};
  ASSERT_TRUE(random_bytes(a).ok());
  ASSERT_TRUE(random_bytes(b).ok());
  EXPECT_NE(a, b);
}

TEST(RandomHex, IsLowercaseHexOfTwiceTheLength) {
  auto h = random_hex(4);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->size(), 8u);
  EXPECT_EQ(h->find_first_not_of("0123456789abcdef"), std::string::npos) << *h;
  auto empty = random_hex(0);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(*random_hex(16));
  EXPECT_EQ(seen.size(), 100u);
}

TEST(RandomUniform, StaysInRangeAndCoversIt) {
  EXPECT_EQ(*random_uniform(0), 0u);
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 2000; ++i) {
    auto v = random_uniform(3);
    ASSERT_TRUE(v.ok());
    ASSERT_LE(*v, 3u);
    seen.insert(*v);
  }
  EXPECT_EQ(seen.size(), 4u);  // each value missed 2000 times: (3/4)^2000
  EXPECT_TRUE(random_uniform(UINT64_MAX).ok());
}

TEST(Backoff, DrawsUnderACeilingThatDoublesToTheCap) {
  using std::chrono::milliseconds;
  Backoff b(milliseconds(200), milliseconds(1000));
  const milliseconds ceilings[] = {milliseconds(200), milliseconds(400), milliseconds(800), milliseconds(1000), milliseconds(1000)};
  for (milliseconds c : ceilings) {
    EXPECT_EQ(b.ceiling(), c);
    auto w = b.next();
    ASSERT_TRUE(w.ok());
    EXPECT_GE(w->count(), 0);
    EXPECT_LE(*w, c);
  }
  b.reset();
  EXPECT_EQ(b.ceiling(), milliseconds(200));
}

TEST(Backoff, IsJittered) {
  using std::chrono::milliseconds;
  std::set<std::int64_t> seen;
  for (int i = 0; i < 50; ++i) {
    Backoff b(milliseconds(1000), milliseconds(1000));
    seen.insert(b.next()->count());
  }
  EXPECT_GT(seen.size(), 1u);
}

}  // namespace
}  // namespace pgm
