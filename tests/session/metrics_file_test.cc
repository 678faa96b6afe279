// --metrics-file (session/metrics_file.h): what a transfer puts in the textfile (a migration's
// families: tests/migrate/metrics_test.cc).
// The format itself is checked by a real parser in tests/e2e/rate_limit.sh.
#include "session/metrics_file.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "common/files.h"

namespace pgm::session {
namespace {

const MetricFamily* find(const std::vector<MetricFamily>& fs, const std::string& name) {
  for (const auto& f : fs)
    if (f.name == name) return &f;
  return nullptr;
}

TEST(MetricsFile, TransferFamiliesNameEachSideAndCarryTheCap) {
  session::ProgressSample s;
  s.logical_bytes = 3000;
  s.wire_bytes = 1000;
  s.chunks = 3;
  s.lane_bytes = {600, 500};
  s.drops = 3;
  s.reconnects = 2;
  s.resent_bytes = 100;
  s.rate_limit = 50'000'000;
  s.lanes_up = 2;
  auto sent = transfer_families("send", s, 4000, 1.7e9);
  ASSERT_NE(find(sent, "pgmigrate_transfer_read_bytes_total"), nullptr);
  EXPECT_EQ(find(sent, "pgmigrate_transfer_written_bytes_total"), nullptr);
  EXPECT_EQ(find(sent, "pgmigrate_transfer_read_bytes_total")->samples[0].labels[0].second, "send");
  EXPECT_EQ(find(sent, "pgmigrate_transfer_lane_bytes_total")->samples[0].value, 1100);
  EXPECT_EQ(find(sent, "pgmigrate_transfer_compression_ratio")->samples[0].value, 3.0);
  EXPECT_EQ(find(sent, "pgmigrate_transfer_rate_limit_bytes_per_second")->samples[0].value, 50e6);
  EXPECT_EQ(find(sent, "pgmigrate_transfer_lanes_up")->samples[0].value, 2);
  EXPECT_EQ(find(sent, "pgmigrate_transfer_connection_drops_total")->samples[0].value, 3);
  EXPECT_EQ(find(sent, "pgmigrate_transfer_reconnects_total")->samples[0].value, 2);
  EXPECT_EQ(find(sent, "pgmigrate_transfer_estimated_bytes")->samples[0].value, 4000);
  for (const auto& f : sent)
    if (f.type == MetricFamily::Type::counter) {
      EXPECT_EQ(f.name.substr(f.name.size() - 6), "_total") << f.name;
    }

  session::ProgressSample local;  // one fd: no lanes, no cap
  auto got = transfer_families("recv", local, std::nullopt, 0);
  EXPECT_NE(find(got, "pgmigrate_transfer_written_bytes_total"), nullptr);
  EXPECT_EQ(find(got, "pgmigrate_transfer_lane_bytes_total"), nullptr);
  EXPECT_EQ(find(got, "pgmigrate_transfer_lanes_up"), nullptr);
  EXPECT_EQ(find(got, "pgmigrate_transfer_estimated_bytes"), nullptr);
}

TEST(MetricsFile, WritesTheOutcomeAndKeepsTheLastNumbersAfterTheTransfer) {
  char dir[] = "/tmp/pgm-metricsfile-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/pgmigrate.prom";
  {
    MetricsFile m(path);
    auto text = read_file(path);
    ASSERT_TRUE(text.ok());  // written at once, before any transfer
    EXPECT_NE(text->find("pgmigrate_transfer_running 0"), std::string::npos);
    session::ProgressSample s;
    s.logical_bytes = 777;
    m.transfer_started(
        "send", [&s] { return s; }, std::nullopt);
    EXPECT_NE(read_file(path)->find("pgmigrate_transfer_running 1"), std::string::npos);
    m.transfer_stopped();
    m.record_outcome(Status(Errc::network, "lost"));
    m.record_outcome(Status(Errc::network, "lost again"));
    m.record_outcome(Status::Ok());
  }
  auto text = read_file(path);
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("pgmigrate_transfer_read_bytes_total{side=\"send\"} 777"), std::string::npos) << *text;
  EXPECT_NE(text->find("pgmigrate_transfer_running 0"), std::string::npos);
  EXPECT_NE(text->find("pgmigrate_errors_total{kind=\"network\"} 2"), std::string::npos) << *text;
  EXPECT_EQ(text->find("pgmigrate_last_success_time_seconds 0\n"), std::string::npos);
  std::system(("rm -rf " + std::string(dir)).c_str());
}

TEST(MetricsFile, NoPathWritesNothing) {
  MetricsFile m("");
  EXPECT_FALSE(m.enabled());
  m.record_outcome(Status::Ok());  // a no-op, not a crash
}

}  // namespace
}  // namespace pgm::session
