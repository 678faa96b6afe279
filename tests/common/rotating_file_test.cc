// A bounded log file (common/rotating_file.h), on real files in a temporary directory.
#include "common/rotating_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace pgm {
namespace {

class RotatingFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pgm_rotating_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  static std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string dir_;
};

TEST_F(RotatingFileTest, AppendsLinesPrivately) {
  const std::string path = dir_ + "/log";
  {
    auto f = RotatingFile::open(path, 1 << 20, 2);
    ASSERT_TRUE(f.ok()) << f.status().message();
    ASSERT_TRUE(f->append_line("one").ok());
  }
  auto f = RotatingFile::open(path, 1 << 20, 2);  // a second run appends
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(f->append_line("two").ok());
  EXPECT_EQ(read(path), "one\ntwo\n");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
}

TEST_F(RotatingFileTest, RotatesAtTheSizeAndKeepsN) {
  const std::string path = dir_ + "/log";
  auto f = RotatingFile::open(path, 100, 2);
  ASSERT_TRUE(f.ok());
  const std::string line(39, 'x');  // 40 bytes with its newline: two lines fill a file
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(f->append_line(std::to_string(i) + line.substr(1)).ok());
  // 10 lines, two per file: the newest pair in PATH, the two before in .1 and .2, the rest gone.
  EXPECT_EQ(read(path).substr(0, 1), "8");
  EXPECT_EQ(read(path + ".1").substr(0, 1), "6");
  EXPECT_EQ(read(path + ".2").substr(0, 1), "4");
  EXPECT_FALSE(std::filesystem::exists(path + ".3"));
  for (const auto* suffix : {"", ".1", ".2"}) EXPECT_LE(std::filesystem::file_size(path + suffix), 100U) << suffix;
}

TEST_F(RotatingFileTest, RefusesADirectoryThatIsNotThere) {
  auto f = RotatingFile::open(dir_ + "/missing/log", 100, 1);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find(dir_ + "/missing/log"), std::string::npos) << f.status().message();
}

}  // namespace
}  // namespace pgm
