// What a user sees for a wrong command line (cli/usage.h) and what the log file keeps of
// stderr (common/log_file.h).
#include "cli/usage.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/log_file.h"

namespace pgm::cli {
namespace {

TEST(Usage, HintsForSshAndZfsHabits) {
  EXPECT_NE(habit_hint({"send", "-p", "2222", "tank/a@s", "h:tank/b"}).find("--port"), std::string::npos);
  EXPECT_NE(habit_hint({"send", "-J", "bastion", "tank/a@s", "h:tank/b"}).find("ProxyJump"), std::string::npos);
  EXPECT_NE(habit_hint({"recv", "-i", "/root/.ssh/id_ed25519", "h:tank/a@s", "tank/b"}).find("--identity"), std::string::npos);
  EXPECT_NE(habit_hint({"send", "-F", "/root/.ssh/config", "tank/a@s", "h:tank/b"}).find("--ssh-config"), std::string::npos);
  EXPECT_NE(habit_hint({"send", "-l", "migrate", "tank/a@s", "h:tank/b"}).find("USER@host"), std::string::npos);
  // zfs's own meanings of the same letters are not habits.
  EXPECT_EQ(habit_hint({"send", "-p", "-i", "@s0", "tank/a@s", "h:tank/b"}), "");
  EXPECT_EQ(habit_hint({"recv", "-F", "h:tank/a@s", "tank/b"}), "");
}

TEST(Usage, WordCountSaysWhatTheCommandTakes) {
  const Status s = word_count_error("send", "a snapshot and a destination", {"tank/a@s", "2222", "h:tank/b"},
                                    {"send", "-p", "2222", "tank/a@s", "h:tank/b"});
  EXPECT_EQ(s.code(), Errc::invalid_argument);
  EXPECT_EQ(s.message().rfind("send takes a snapshot and a destination; got 3 words: tank/a@s 2222 h:tank/b", 0), 0U) << s.message();
  EXPECT_NE(s.message().find("--port"), std::string::npos);
  EXPECT_NE(word_count_error("recv", "a source and a target", {}, {"recv"}).message().find("got 0 words"), std::string::npos);
}

TEST(Usage, ParseErrorsNameTheCommandNotAnInternalName) {
  CLI::App app{"test", "pgmigrate"};
  app.fallthrough();
  std::vector<std::string> ids;
  CLI::App* cmd = app.add_subcommand("abort", "");
  std::string id;
  cmd->add_option("ID", id)->required();
  cmd->add_option("--identity", ids);
  finish_options(app);
  std::vector<std::string> argv{"pgmigrate", "abort", "--identity", "k1", "x", "y"};
  std::vector<const char*> ptrs;
  for (const auto& a : argv) ptrs.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(ptrs.size()), ptrs.data());
    FAIL() << "parsed";
  } catch (const CLI::ParseError& e) {
    // --identity took one value; the ID took x; y is the one word too many.
    EXPECT_EQ(parse_error_line(e, app, {argv.begin() + 1, argv.end()}), "abort: unexpected y");
  }
  EXPECT_EQ(ids, std::vector<std::string>{"k1"});
  EXPECT_EQ(id, "x");
}

TEST(LogFile, KeepsLinesNotTerminalControl) {
  char tmpl[] = "/tmp/pgm_logfile_XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/log";
  {
    auto file = RotatingFile::open(path, 1 << 20, 1);
    ASSERT_TRUE(file.ok());
    LogFile log(std::move(*file));
    const std::string out = "warn: first\n\r\033[K 10% sent\r\033[K 20% sent\r\033[Kpgmigrate: sent 1 GiB\nlast";
    log.feed(out.data(), out.size() - 4);
    log.feed(out.data() + out.size() - 4, 4);
    log.feed("\n", 1);
  }
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  std::filesystem::remove_all(tmpl);
  EXPECT_NE(text.find("] warn: first\n"), std::string::npos) << text;
  EXPECT_NE(text.find("]  10% sent\n"), std::string::npos) << text;  // the first progress line; the next only a minute later
  EXPECT_EQ(text.find("20%"), std::string::npos) << text;
  EXPECT_NE(text.find("] pgmigrate: sent 1 GiB\n"), std::string::npos) << text;
  EXPECT_NE(text.find("] last\n"), std::string::npos) << text;
  EXPECT_EQ(text.find('\033'), std::string::npos) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos) << text;
}

}  // namespace
}  // namespace pgm::cli
