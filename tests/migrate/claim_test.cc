// migrate::open and migrate::claim from several processes at once: two `migrate run`s of the
// same source and target, started together, must end with one migration and one owner (the
// other refused), never two runs side by side each making slots and snapshots.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "pgmigrate/migrate.h"

namespace pgm::migrate {
namespace {

// Each child waits on `go`, opens and claims, reports 'y' (claimed) or 'n' (refused as already
// running) or 'e' (any other error) on `out`, then stays alive until `done` closes so that its
// claim is held by a live process while the others decide.
pid_t racer(const std::string& state_dir, const int (&go)[2], const int (&out)[2], const int (&done)[2]) {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  // Only the parent may hold the ends this child waits on, or their EOF never comes.
  ::close(go[1]);
  ::close(out[0]);
  ::close(done[1]);
  char c = 0;
  if (::read(go[0], &c, 1) < 0) ::_exit(2);
  Spec spec;
  spec.source = "pool/src";
  spec.target = "root@db2:pool/dst";
  spec.target_dataset = "pool/dst";
  spec.state_dir = state_dir;
  auto m = open(spec);
  char verdict = 'e';
  if (m) {
    const Status s = claim(*m);
    verdict = s.ok() ? 'y' : s.code() == Errc::exists ? 'n' : 'e';
  }
  if (::write(out[1], &verdict, 1) != 1) ::_exit(2);
  while (::read(done[0], &c, 1) > 0) {
  }
  ::_exit(0);
}

TEST(MigrateClaim, RunsStartedTogetherGetOneOwner) {
  char tmpl[] = "/tmp/pgm-claim-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  for (int round = 0; round < 10; ++round) {
    std::filesystem::remove_all(dir + "/migrations");
    int go[2], out[2], done[2];
    ASSERT_EQ(::pipe(go), 0);
    ASSERT_EQ(::pipe(out), 0);
    ASSERT_EQ(::pipe(done), 0);
    constexpr int kRacers = 4;
    std::vector<pid_t> pids;
    for (int i = 0; i < kRacers; ++i) pids.push_back(racer(dir, go, out, done));
    ::close(go[0]);
    ::close(out[1]);
    ::close(done[0]);
    const std::string start(kRacers, 'g');
    ASSERT_EQ(::write(go[1], start.data(), start.size()), static_cast<ssize_t>(start.size()));
    std::string verdicts;
    char c = 0;
    while (verdicts.size() < kRacers && ::read(out[0], &c, 1) == 1) verdicts.push_back(c);
    ::close(done[1]);
    for (pid_t p : pids) ::waitpid(p, nullptr, 0);
    ::close(go[1]);
    ::close(out[0]);
    std::sort(verdicts.begin(), verdicts.end());
    EXPECT_EQ(verdicts, std::string(kRacers - 1, 'n') + "y") << "round " << round;
    int files = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir + "/migrations"))
      if (e.path().extension() == ".json") ++files;
    EXPECT_EQ(files, 1) << "round " << round;
  }
  std::filesystem::remove_all(dir);
}

// The race above is microseconds wide and rarely lost in a test; this shows the mechanism that
// closes it: while the migrations directory's lock is held, no run decides anything.
TEST(MigrateClaim, NothingIsDecidedWhileTheLockIsHeld) {
  char tmpl[] = "/tmp/pgm-claim-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  std::filesystem::create_directories(dir + "/migrations");
  ::chmod((dir + "/migrations").c_str(), 0700);
  int go[2], out[2], done[2];
  ASSERT_EQ(::pipe(go), 0);
  ASSERT_EQ(::pipe(out), 0);
  ASSERT_EQ(::pipe(done), 0);
  const pid_t pid = racer(dir, go, out, done);
  // Taken after the fork: a child sharing this open file would share the lock.
  const int lock = ::open((dir + "/migrations/.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(lock, 0);
  ASSERT_EQ(::flock(lock, LOCK_EX), 0);
  ::close(go[0]);
  ::close(out[1]);
  ::close(done[0]);
  ASSERT_EQ(::write(go[1], "g", 1), 1);
  pollfd p{out[0], POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 500), 0) << "a run decided while another held the lock";
  ::close(lock);  // releases it
  char c = 0;
  ASSERT_EQ(::read(out[0], &c, 1), 1);
  EXPECT_EQ(c, 'y');
  ::close(done[1]);
  ::waitpid(pid, nullptr, 0);
  ::close(go[1]);
  ::close(out[0]);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace pgm::migrate
