// Liveness by identity (issue 20, item 5): a journal's pid counts as its process only while
// that pid has the recorded start time in the recorded boot, and stop_process never signals
// a process that merely reuses the pid.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "journal/journal.h"

namespace pgm::journal {
namespace {

// A child that waits for a signal; reaped by the destructor.
struct Child {
  pid_t pid = -1;
  Child() {
    pid = ::fork();
    if (pid == 0) {
      for (;;) ::pause();
    }
  }
  ~Child() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  // Still running (not reaped, not a zombie).
  bool running() const {
    int status = 0;
    return ::waitpid(pid, &status, WNOHANG) == 0 && process_alive(pid);
  }
};

Record record_of(pid_t pid) {
  Record r;
  r.session = "abc";
  r.role = "receive";
  r.state = "running";
  r.pid = pid;
  r.pid_start = process_start_ticks(pid);
  r.boot_id = boot_id();
  return r;
}

TEST(Identity, ReadsStartTimeAndBootId) {
  EXPECT_GT(process_start_ticks(::getpid()), 0u);
  EXPECT_FALSE(boot_id().empty());
  EXPECT_EQ(boot_id().find('\n'), std::string::npos);
}

TEST(Identity, MatchingIdentityIsAlive) {
  Child child;
  ASSERT_GT(child.pid, 0);
  Record r = record_of(child.pid);
  ASSERT_NE(r.pid_start, 0u);
  EXPECT_TRUE(process_alive(r));
}

TEST(Identity, WrongStartTimeIsNotAliveAndNotSignalled) {
  Child child;
  ASSERT_GT(child.pid, 0);
  Record r = record_of(child.pid);
  r.pid_start += 1;  // the pid now belongs to another process than the record's
  EXPECT_FALSE(process_alive(r));
  EXPECT_TRUE(stop_process(r, std::chrono::seconds(2)).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_TRUE(child.running()) << "stop_process signalled a process whose identity does not match";
}

TEST(Identity, OtherBootIsNotAliveAndNotSignalled) {
  Child child;
  ASSERT_GT(child.pid, 0);
  Record r = record_of(child.pid);
  r.boot_id = "00000000-0000-0000-0000-000000000000";
  EXPECT_FALSE(process_alive(r));
  EXPECT_TRUE(stop_process(r, std::chrono::seconds(2)).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_TRUE(child.running());
}

TEST(Identity, MatchingIdentityIsStopped) {
  Child child;
  ASSERT_GT(child.pid, 0);
  Record r = record_of(child.pid);
  ASSERT_TRUE(stop_process(r, std::chrono::seconds(5)).ok());
  int status = 0;
  ASSERT_EQ(::waitpid(child.pid, &status, 0), child.pid);
  child.pid = -1;
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
}

TEST(Identity, RecordWithoutIdentityKeepsPidLiveness) {
  Child child;
  ASSERT_GT(child.pid, 0);
  Record r = record_of(child.pid);
  r.pid_start = 0;
  r.boot_id.clear();
  EXPECT_TRUE(process_alive(r));
  // And it round-trips through an older version's JSON (no such fields).
  auto parsed = parse_record(R"({"session":"abc","role":"receive","pid":)" + std::to_string(child.pid) + "}");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->pid_start, 0u);
  EXPECT_TRUE(process_alive(*parsed));
}

TEST(Identity, JournalRecordsItsCreatorsIdentity) {
  const std::string dir = ::testing::TempDir() + "/pgm_identity_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  Record r;
  r.session = "feed";
  r.role = "receive";
  r.state = "running";
  r.pid = static_cast<int>(::getpid());
  auto j = Journal::create(dir, r);
  ASSERT_TRUE(j.ok()) << j.status().message();
  r.chunks = 3;  // a later save from a record without the identity keeps it
  ASSERT_TRUE(j->save(r).ok());
  auto listed = list(dir);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].record.pid_start, process_start_ticks(::getpid()));
  EXPECT_EQ(listed[0].record.boot_id, boot_id());
  EXPECT_EQ(listed[0].record.chunks, 3u);
  EXPECT_TRUE(listed[0].alive);
  ASSERT_TRUE(j->remove().ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace pgm::journal
