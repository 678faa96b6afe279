// parse_pg_control against global/pg_control files written by real servers of every major 12 to
// 18 (tests/pg/pg_control_data/make.sh made them; expected.txt holds what each server itself
// reported through pg_control_system() and pg_control_checkpoint()), and against damaged ones.
#include "pg/pg_control.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace pgm::pg {
namespace {

namespace fs = std::filesystem;

fs::path data_dir() { return fs::path(__FILE__).parent_path() / "pg_control_data"; }

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Expected {
  std::string file, state, checkpoint, redo;
  std::uint32_t version = 0, catalog = 0, timeline = 0;
  std::uint64_t system = 0;
  int major = 0;
};

std::vector<Expected> expected() {
  std::vector<Expected> out;
  std::ifstream in(data_dir() / "expected.txt");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    Expected e;
    ls >> e.file >> e.version >> e.catalog >> e.system >> e.state >> e.checkpoint >> e.redo >> e.timeline;
    e.major = std::stoi(e.file);
    out.push_back(e);
  }
  return out;
}

std::string state_word(ClusterState s) {
  std::string w = cluster_state_name(s);
  for (char& c : w)
    if (c == ' ') c = '_';
  return w;
}

TEST(PgControl, ReadsEveryMajorAsTheServerReportedIt) {
  const auto all = expected();
  std::set<int> majors;
  for (const auto& e : all) {
    SCOPED_TRACE(e.file);
    const std::string bytes = read_bytes(data_dir() / e.file);
    ASSERT_EQ(bytes.size(), 8192U);
    auto cf = parse_pg_control(bytes);
    ASSERT_TRUE(cf.ok()) << cf.status().message();
    EXPECT_EQ(cf->pg_control_version, e.version);
    EXPECT_EQ(cf->catalog_version, e.catalog);
    EXPECT_EQ(cf->system_identifier, e.system);
    EXPECT_EQ(state_word(cf->state), e.state);
    EXPECT_EQ(cf->checkpoint.str(), e.checkpoint);
    EXPECT_EQ(cf->redo.str(), e.redo);
    EXPECT_EQ(cf->timeline, e.timeline);
    EXPECT_TRUE(check_control_major(*cf, e.major).ok());
    if (e.state == "shut_down") {
      EXPECT_EQ(cf->checkpoint, cf->redo) << "a shutdown checkpoint is its own REDO point";
    }
    majors.insert(e.major);
  }
  EXPECT_EQ(majors, (std::set<int>{12, 13, 14, 15, 16, 17, 18})) << "a fixture per major, from make.sh";
}

TEST(PgControl, RefusesAnotherMajorsFormat) {
  auto cf = parse_pg_control(read_bytes(data_dir() / "17-shutdown"));
  ASSERT_TRUE(cf.ok());
  for (int major : {12, 16, 18}) {
    Status s = check_control_major(*cf, major);
    EXPECT_EQ(s.code(), Errc::corrupt);
    EXPECT_NE(s.message().find("written by Postgres 17, but PG_VERSION says " + std::to_string(major)), std::string::npos) << s.message();
  }
  auto mid = parse_pg_control(read_bytes(data_dir() / "14-shutdown"));
  ASSERT_TRUE(mid.ok());
  EXPECT_TRUE(check_control_major(*mid, 13).ok());
  EXPECT_TRUE(check_control_major(*mid, 16).ok());
  EXPECT_NE(check_control_major(*mid, 17).message().find("written by Postgres 13 to 16"), std::string::npos);
}

TEST(PgControl, RefusesAFlippedBitAnywhereTheCrcCovers) {
  for (const char* file : {"12-shutdown", "15-production", "18-shutdown"}) {
    const std::string good = read_bytes(data_dir() / file);
    const std::size_t crc_offset = std::string(file).rfind("18", 0) == 0 ? 292 : 288;
    for (std::size_t at :
         {std::size_t{0}, std::size_t{20}, std::size_t{33}, std::size_t{48}, std::size_t{200}, crc_offset - 1, crc_offset}) {
      std::string bad = good;
      bad[at] = static_cast<char>(bad[at] ^ 0x10);
      auto cf = parse_pg_control(bad);
      ASSERT_FALSE(cf.ok()) << file << " byte " << at;
      EXPECT_EQ(cf.status().code(), Errc::corrupt) << cf.status().message();
      EXPECT_NE(cf.status().message().find("CRC"), std::string::npos) << cf.status().message();
    }
    // Bytes past the CRC (the rest of the 8 KiB block) are no part of the data.
    std::string tail = good;
    tail[crc_offset + 8] = 'x';
    EXPECT_TRUE(parse_pg_control(tail).ok());
  }
}

TEST(PgControl, RefusesAnUnknownFormatInOneLine) {
  std::string bytes = read_bytes(data_dir() / "16-shutdown");
  for (std::uint32_t version : {1100U, 1002U, 1900U, 0U, 0x14050000U}) {
    std::memcpy(bytes.data() + 8, &version, sizeof version);
    auto cf = parse_pg_control(bytes);
    ASSERT_FALSE(cf.ok());
    EXPECT_EQ(cf.status().code(), Errc::unsupported);
    EXPECT_NE(cf.status().message().find("format " + std::to_string(version) + ", which pgmigrate does not read"), std::string::npos)
        << cf.status().message();
    EXPECT_EQ(cf.status().message().find('\n'), std::string::npos);
  }
}

TEST(PgControl, RefusesShortFilesAndUnknownStates) {
  const std::string good = read_bytes(data_dir() / "18-production");
  for (std::size_t n : {std::size_t{0}, std::size_t{16}, std::size_t{51}, std::size_t{295}}) {
    auto cf = parse_pg_control(good.substr(0, n));
    ASSERT_FALSE(cf.ok()) << n;
    EXPECT_EQ(cf.status().code(), Errc::corrupt);
  }
  EXPECT_TRUE(parse_pg_control(good.substr(0, 296)).ok());
  // A state no Postgres writes, with the CRC made to match: refused for the state itself.
  std::string odd = good;
  const std::uint32_t state = 7;
  std::memcpy(odd.data() + 16, &state, sizeof state);
  const std::uint32_t crc = crc32c(std::string_view(odd).substr(0, 292));
  std::memcpy(odd.data() + 292, &crc, sizeof crc);
  auto cf = parse_pg_control(odd);
  ASSERT_FALSE(cf.ok());
  EXPECT_NE(cf.status().message().find("cluster state 7"), std::string::npos) << cf.status().message();
}

TEST(PgControl, Crc32cMatchesTheStandardCheckValue) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283U);  // the CRC-32C check value
  EXPECT_EQ(crc32c(""), 0U);
}

}  // namespace
}  // namespace pgm::pg
