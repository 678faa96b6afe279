#include "common/metrics.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "common/files.h"

namespace pgm {
namespace {

TEST(Metrics, RendersTheTextFormatWithEscapedLabels) {
  std::vector<MetricFamily> families;
  families.push_back({"pgmigrate_transfer_wire_bytes_total",
                      "Bytes put on the wire.\nAll lanes.",
                      MetricFamily::Type::counter,
                      {{{{"dataset", "tank/pg"}, {"direction", "send"}}, 123456789012.0}}});
  families.push_back({"pgmigrate_transfer_lanes_up",
                      "Data connections carrying chunks now.",
                      MetricFamily::Type::gauge,
                      {{{{"dataset", "odd\"name\\x"}}, 4}}});
  families.push_back({"pgmigrate_info", "Build.", MetricFamily::Type::gauge, {{{}, 1}}});
  EXPECT_EQ(render_metrics(families),
            "# HELP pgmigrate_transfer_wire_bytes_total Bytes put on the wire.\\nAll lanes.\n"
            "# TYPE pgmigrate_transfer_wire_bytes_total counter\n"
            "pgmigrate_transfer_wire_bytes_total{dataset=\"tank/pg\",direction=\"send\"} 123456789012\n"
            "# HELP pgmigrate_transfer_lanes_up Data connections carrying chunks now.\n"
            "# TYPE pgmigrate_transfer_lanes_up gauge\n"
            "pgmigrate_transfer_lanes_up{dataset=\"odd\\\"name\\\\x\"} 4\n"
            "# HELP pgmigrate_info Build.\n"
            "# TYPE pgmigrate_info gauge\n"
            "pgmigrate_info 1\n");
}

TEST(Metrics, TheFileIsReplacedWholeAndReadableByTheCollector) {
  char dir[] = "/tmp/pgm-metrics-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/pgmigrate.prom";
  const mode_t old = umask(077);  // a strict umask must not hide the file from node_exporter
  ASSERT_TRUE(write_metrics_file(path, {{"pgmigrate_x", "x", MetricFamily::Type::gauge, {{{}, 1}}}}).ok());
  ASSERT_TRUE(write_metrics_file(path, {{"pgmigrate_x", "x", MetricFamily::Type::gauge, {{{}, 2}}}}).ok());
  umask(old);
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  auto text = read_file(path);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "# HELP pgmigrate_x x\n# TYPE pgmigrate_x gauge\npgmigrate_x 2\n");
  int entries = 0;  // only the metrics file: no temporary left beside it
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1);
  std::system(("rm -rf " + std::string(dir)).c_str());
}

}  // namespace
}  // namespace pgm
