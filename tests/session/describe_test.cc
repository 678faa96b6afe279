// What a transfer shows while it runs and when it ends (session/describe.h). These lines are
// what e2e scripts and users read: a change here is a change of output.
#include "session/describe.h"

#include <gtest/gtest.h>

namespace pgm::session {
namespace {

TEST(Describe, FiguresSinceThePreviousReport) {
  ProgressSample before, now;
  before.logical_bytes = 1000;
  before.lane_bytes = {100, 200};
  now.logical_bytes = 3000;
  now.wire_bytes = 1000;
  now.lane_bytes = {1100, 1200, 500};
  auto f = progress_figures(now, before, 2.0, 10.0, 6000);
  EXPECT_DOUBLE_EQ(f.rate, 1000);
  EXPECT_DOUBLE_EQ(f.ratio, 3);
  EXPECT_EQ(f.lane_rates, (std::vector<double>{500, 500, 250}));
  ASSERT_TRUE(f.eta_s);
  EXPECT_DOUBLE_EQ(*f.eta_s, 10);  // 3000 left at the mean 300/s
  EXPECT_FALSE(progress_figures(now, before, 0, 0, 2000).eta_s);
}

TEST(Describe, ProgressTextAndJson) {
  ProgressSample s;
  s.logical_bytes = 3 << 20;
  s.wire_bytes = 1 << 20;
  s.rate_limit = 5000000;
  s.reconnects = 1;
  ProgressFigures f;
  f.rate = 2e6;
  f.ratio = 3;
  f.lane_rates = {1e6, 1.5e6};
  f.total = 6 << 20;
  f.eta_s = 65;
  EXPECT_EQ(progress_text("tank/db@base", s, f),
            "tank/db@base: 3.00 MiB / ~6.00 MiB, wire 1.00 MiB (3.00x), 2.0 MB/s (cap 5.0 MB/s) [1 2 MB/s], reconnects 1, ETA 1m05s");
  auto j = progress_json("x", s, f, true);
  EXPECT_EQ(j["event"], "done");
  EXPECT_EQ(j["total_estimate_bytes"], 6u << 20);
  EXPECT_FALSE(j.contains("session"));
  f.lane_rates = {1e6};
  f.total.reset();
  f.eta_s.reset();
  s.rate_limit = 0;
  s.reconnects = 0;
  EXPECT_EQ(progress_text("x", s, f), "x: 3.00 MiB, wire 1.00 MiB (3.00x), 2.0 MB/s");
}

TEST(Describe, SummaryOfASendThatReconnected) {
  TransferSummary s;
  s.direction = TransferSummary::Direction::sent;
  s.logical_bytes = 4 << 20;
  s.wire_bytes = 2 << 20;
  s.seconds = 2;
  s.digest = "abcd";
  s.source = "tank/db@base";
  s.drops = 2;
  s.reconnects = 1;
  s.resent_bytes = 1024;
  s.verification = "guid 1 matches the source";
  const std::vector<std::string> want = {
      "pgmigrate: sent 4.00 MiB in 2.0s (2.1 MB/s), 2.00 MiB on the wire (ratio 2.00x)",
      "pgmigrate: stream digest abcd for tank/db@base",
      "pgmigrate: 2 data connection(s) dropped, 1 reconnect(s), 1.00 KiB sent again",
      "pgmigrate: guid 1 matches the source",
  };
  EXPECT_EQ(summary_lines(s), want);
}

TEST(Describe, SummaryOfAReceiveThatResumedOrMovedNothing) {
  TransferSummary s;
  s.direction = TransferSummary::Direction::received;
  s.digest = "ab";
  s.drops = 1;
  s.resumed_chunks = 3;
  s.skipped_bytes = 3072;
  s.sizes = "referenced 1G here, 1G there";
  auto lines = summary_lines(s);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[1], "pgmigrate: stream digest ab verified");
  EXPECT_EQ(lines[2], "pgmigrate: 1 data connection(s) dropped, 0 reconnect(s)");
  EXPECT_EQ(lines[3], "pgmigrate: resumed: the receiver already had 3 chunks (3.00 KiB), regenerated and checked, not sent again");
  EXPECT_EQ(lines[4], "pgmigrate: referenced 1G here, 1G there");
  TransferSummary nothing;
  nothing.verification = "the target already has tank/db@base";
  EXPECT_EQ(summary_lines(nothing), std::vector<std::string>{"pgmigrate: the target already has tank/db@base"});
}

}  // namespace
}  // namespace pgm::session
