// Durable, loud state (issue 20, item 7): atomic writes, a private state directory that is
// not a symlink, no /tmp fallback without HOME, and a corrupt migration state that stops
// `migrate status` / `migrate abort` with one line naming it.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cli/app.h"
#include "journal/journal.h"

namespace pgm::journal {
namespace {

std::string temp_dir(const std::string& name) {
  std::string dir = ::testing::TempDir() + "/pgm_" + name + "_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(StateFiles, WriteFileAtomicReplacesWholly) {
  const std::string dir = temp_dir("atomic");
  const std::string path = dir + "/a.json";
  ASSERT_TRUE(write_file_atomic(path, "one\n").ok());
  ASSERT_TRUE(write_file_atomic(path, "two\n").ok());
  EXPECT_EQ(slurp(path), "two\n");
  // Only the file itself: no temporary left beside it.
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"a.json"});
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::filesystem::remove_all(dir);
}

TEST(StateFiles, PrivateDirRefusesSymlinkAndTightensMode) {
  const std::string dir = temp_dir("private");
  const std::string real = dir + "/real";
  ASSERT_TRUE(make_private_dir(real).ok());
  ASSERT_EQ(::chmod(real.c_str(), 0755), 0);
  ASSERT_TRUE(make_private_dir(real).ok());
  struct stat st {};
  ASSERT_EQ(::stat(real.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  const std::string link = dir + "/link";
  std::filesystem::create_directory_symlink(real, link);
  Status s = make_private_dir(link);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("symlink"), std::string::npos) << s.message();
  std::filesystem::remove_all(dir);
}

TEST(StateFiles, NoHomeRefusesInsteadOfTmp) {
  // Runs in a child: the environment (and, as root, the uid) change.
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::unsetenv("HOME");
    ::unsetenv("XDG_STATE_HOME");
    ::unsetenv("PGMIGRATE_STATE_DIR");
    if (::getuid() == 0 && ::setuid(65534) != 0) ::_exit(3);
    auto dir = choose_state_dir("");
    if (dir.ok()) ::_exit(1);
    if (dir.status().code() != Errc::invalid_argument || dir.status().message().find("HOME is not set") == std::string::npos) ::_exit(2);
    if (state_dir("").ok()) ::_exit(4);
    if (!choose_state_dir("/x").ok()) ::_exit(5);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// Runs `pgmigrate <args>` in a child; returns its exit code and stderr.
std::pair<int, std::string> run_cli(const std::vector<std::string>& args, const std::string& err_path) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, 2);
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    std::vector<std::string> store = args;
    store.insert(store.begin(), "pgmigrate");
    std::vector<char*> argv;
    for (auto& a : store) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::_exit(pgm::cli::run(static_cast<int>(store.size()), argv.data()));
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(err_path)};
}

TEST(StateFiles, CorruptMigrationStateStopsStatusAndAbort) {
  const std::string dir = temp_dir("migstate");
  ASSERT_TRUE(make_private_dir(dir + "/migrations").ok());
  const std::string bad = dir + "/migrations/0badc0de.json";
  { std::ofstream(bad) << "{\"id\": \"0badc0de\", \"slot\": "; }
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"migrate", "status", "--state-dir", dir},
                                             {"migrate", "abort", "0badc0de", "--primary", "host=/nonexistent", "--state-dir", dir}}) {
    auto [code, err] = run_cli(args, dir + "/stderr");
    EXPECT_NE(code, 0) << args[1];
    EXPECT_NE(err.find("migration state " + bad + " is unreadable"), std::string::npos) << err;
    EXPECT_NE(err.find("move it aside"), std::string::npos) << err;
  }
  // A readable state lists as before.
  std::filesystem::remove(bad);
  auto [code, err] = run_cli({"migrate", "status", "--state-dir", dir}, dir + "/stderr");
  EXPECT_EQ(code, 0) << err;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace pgm::journal
