// The ticker behind --progress: it reports while running, once more marked final when
// stopped, and never without start().
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "session/progress_ticker.h"

namespace pgm::session {
namespace {

struct Report {
  std::string label;
  std::uint64_t bytes;
  bool final;
};

TEST(ProgressTicker, ReportsWhileRunningThenOnceFinal) {
  std::atomic<std::uint64_t> bytes{0};
  std::mutex mu;
  std::vector<Report> got;
  ProgressTicker t(
      "send tank/fs@s1",
      [&] {
        ProgressSample s;
        s.logical_bytes = bytes.fetch_add(100) + 100;
        s.wire_bytes = s.logical_bytes / 2;
        return s;
      },
      std::uint64_t{1000},
      [&](const std::string& label, const ProgressSample& s, const ProgressFigures& f, bool final) {
        std::lock_guard<std::mutex> lock(mu);
        got.push_back({label, s.logical_bytes, final});
        EXPECT_EQ(f.total, std::optional<std::uint64_t>(1000));
        EXPECT_DOUBLE_EQ(f.ratio, 2.0);
      },
      std::chrono::milliseconds(10));
  t.start();
  for (int i = 0; i < 500; ++i) {  // up to 5 s on a loaded machine
    {
      std::lock_guard<std::mutex> lock(mu);
      if (got.size() >= 2) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  t.stop();
  t.stop();  // idempotent: no second final report
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_GE(got.size(), 3u);
  for (std::size_t i = 0; i + 1 < got.size(); ++i) {
    EXPECT_FALSE(got[i].final);
    EXPECT_LT(got[i].bytes, got[i + 1].bytes);  // a fresh sample each time
  }
  EXPECT_TRUE(got.back().final);
  EXPECT_EQ(got.back().label, "send tank/fs@s1");
}

TEST(ProgressTicker, NeverStartedNeverReports) {
  int calls = 0;
  {
    ProgressTicker t(
        "x", [] { return ProgressSample{}; }, std::nullopt,
        [&](const std::string&, const ProgressSample&, const ProgressFigures&, bool) { ++calls; });
    t.stop();
  }
  EXPECT_EQ(calls, 0);
}

TEST(ProgressTicker, DestructorStopsWithAFinalReport) {
  std::atomic<int> finals{0};
  {
    ProgressTicker t(
        "x", [] { return ProgressSample{}; }, std::nullopt,
        [&](const std::string&, const ProgressSample&, const ProgressFigures&, bool final) { finals += final ? 1 : 0; },
        std::chrono::hours(1));
    t.start();
  }
  EXPECT_EQ(finals.load(), 1);
}

}  // namespace
}  // namespace pgm::session
