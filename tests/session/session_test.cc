// The session whole (near half, control loop, lanes, far half, journal) through the
// in-process host: no sshd, but real pipelines, real lane sockets and real producer and
// consumer processes (`cat`), with the far half's connection broken as an outage would.
#include "pgmigrate/session.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>

#include "session/in_process.h"

namespace pgm::session {
namespace {

namespace fs = std::filesystem;

// pgmigrate sets up logging in main() before any thread starts (cli/app.cc). Here the in-process
// far host starts threads first, and spdlog makes its registry lazily inside the uninstrumented
// libspdlog, so ThreadSanitizer cannot see that the first log call's initialization came
// before the others: a false report. Make the logger before any test, as main() does.
[[maybe_unused]] const bool kLoggerReady = [] {
  spdlog::set_level(spdlog::level::info);
  return true;
}();

constexpr std::size_t kChunk = std::size_t{256} * 1024;

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_random(const fs::path& p, std::size_t bytes, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::string data(bytes, '\0');
  for (auto& c : data) c = static_cast<char>(gen() & 0x3f);  // compressible, not trivially
  std::ofstream(p, std::ios::binary) << data;
}

// A push from the gated producer whose control connection breaks midway. `allowance` is
// both the far half's wait for its sender and the push's reconnect allowance.
struct BrokenPush {
  Result<TransferSummary> sum;
  bool broken = false;
  std::vector<Status> far_ends;  // how the far `_serve` commands ended
};

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::signal(SIGPIPE, SIG_IGN);  // as pgmigrate does: a closed connection is an EPIPE error
    // Short: the lane sockets live below it, and a socket's path has at most 107 bytes.
    std::string templ = (fs::temp_directory_path() / "pgmsXXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
    fs::create_directories(dir_ / "state");
    fs::create_directories(dir_ / "run");
    fs::permissions(dir_ / "state", fs::perms::owner_all);
    fs::permissions(dir_ / "run", fs::perms::owner_all);
    // Journals and lane sockets of the far halves go here, not to the host's.
    ::setenv("PGMIGRATE_STATE_DIR", (dir_ / "state").c_str(), 1);  // NOLINT(concurrency-mt-unsafe): no threads yet
    ::setenv("XDG_RUNTIME_DIR", (dir_ / "run").c_str(), 1);        // NOLINT(concurrency-mt-unsafe)
    write_random(dir_ / "part1", 32 * kChunk, 1);
    write_random(dir_ / "part2", 16 * kChunk + 1234, 2);
    std::ofstream(dir_ / "whole", std::ios::binary) << read_all(dir_ / "part1") << read_all(dir_ / "part2");
    params_.chunk_size = kChunk;
    params_.level = 1;
    params_.codec = stream::Codec::zstd;
    params_.workers = 2;
    params_.max_memory = 16 * kChunk;
    params_.max_chunks = 8;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const char* name) const { return (dir_ / name).string(); }
  // A producer that stops after part1 until the file `go` exists, so that a test can act
  // while the transfer is certainly in the middle.
  std::string gated_producer() const {
    return "cat " + path("part1") + " && while [ ! -e " + path("go") + " ]; do sleep 0.02; done && cat " + path("part2");
  }
  // A far host that receives into `out` (waiting `wait` for a sender that went away).
  InProcessFar far_receiver(std::chrono::milliseconds wait) const {
    InProcessFar far;
    far.sink.recv_cmd = "cat > " + path("out");
    far.params = params_;
    far.wait_for_sender = wait;
    return far;
  }
  // Pushes what `producer` writes to `host`.
  Result<TransferSummary> push_from(const std::string& producer, InProcessHost& host, const InProcessFar& far, Observer& observer,
                                    std::chrono::milliseconds reconnect) const {
    source::SourceSpec src;
    src.send_cmd = producer;
    CancelToken cancel;
    return push(src, far.sink, params_, remote(host, reconnect), observer, cancel);
  }
  BrokenPush push_broken_midway(std::chrono::milliseconds allowance) const;
  Remote remote(InProcessHost& host, std::chrono::milliseconds reconnect) const {
    Remote r;
    r.connect = host.connector();
    r.streams = 3;
    r.host_label = "in-process";
    r.reconnect_timeout = reconnect;
    return r;
  }

  fs::path dir_;
  TransferParams params_;
};

// Breaks the control connection once the producer has given all of part1 (and blocks), then
// lets the producer go on.
class BreakMidway : public Observer {
 public:
  BreakMidway(InProcessHost& host, std::string go) : host_(host), go_(std::move(go)) {}
  void advanced(std::uint64_t logical_bytes) override {
    if (logical_bytes < 32 * kChunk || broken_.exchange(true)) return;
    host_.break_control();
    std::ofstream(go_) << "go";
  }
  bool broken() const { return broken_.load(); }

 private:
  InProcessHost& host_;
  std::string go_;
  std::atomic<bool> broken_{false};
};

TEST_F(SessionTest, PushDeliversTheStream) {
  const InProcessFar far = far_receiver(std::chrono::milliseconds(0));
  InProcessHost host(far);
  Observer quiet;
  auto sum = push_from("cat " + path("whole"), host, far, quiet, std::chrono::seconds(30));
  ASSERT_TRUE(sum.ok()) << sum.status().message();
  EXPECT_EQ(sum->direction, TransferSummary::Direction::sent);
  EXPECT_EQ(sum->logical_bytes, fs::file_size(dir_ / "whole"));
  EXPECT_EQ(sum->resumed_chunks, 0u);
  for (const Status& s : host.serve_results()) EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(read_all(dir_ / "out"), read_all(dir_ / "whole"));
}

TEST_F(SessionTest, PullDeliversTheStream) {
  InProcessFar far;
  far.source.send_cmd = "cat " + path("whole");
  far.params = params_;
  InProcessHost host(far);
  sink::SinkSpec dst;
  dst.recv_cmd = "cat > " + path("out");
  Observer quiet;
  CancelToken cancel;
  auto sum = pull(far.source, dst, params_, remote(host, std::chrono::seconds(30)), quiet, cancel);
  ASSERT_TRUE(sum.ok()) << sum.status().message();
  EXPECT_EQ(sum->direction, TransferSummary::Direction::received);
  EXPECT_EQ(sum->logical_bytes, fs::file_size(dir_ / "whole"));
  for (const Status& s : host.serve_results()) EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(read_all(dir_ / "out"), read_all(dir_ / "whole"));
}

BrokenPush SessionTest::push_broken_midway(std::chrono::milliseconds allowance) const {
  const InProcessFar far = far_receiver(allowance);
  InProcessHost host(far);
  BreakMidway breaker(host, path("go"));
  auto sum = push_from(gated_producer(), host, far, breaker, allowance);
  return {std::move(sum), breaker.broken(), host.serve_results()};
}

// The control connection breaks mid-stream: the far receiver keeps its receive open, the
// push comes back, and only what the receiver lacks is sent again.
TEST_F(SessionTest, PushResumesAfterLosingItsControlConnection) {
  BrokenPush p = push_broken_midway(std::chrono::seconds(60));
  ASSERT_TRUE(p.sum.ok()) << p.sum.status().message();
  EXPECT_TRUE(p.broken);
  EXPECT_GT(p.sum->resumed_chunks, 0u);  // the receiver had them: checked, not sent again
  EXPECT_EQ(p.sum->logical_bytes + p.sum->skipped_bytes, fs::file_size(dir_ / "whole"));
  ASSERT_EQ(p.far_ends.size(), 2u);  // the first far half, then the one that handed over
  for (const Status& s : p.far_ends) EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(read_all(dir_ / "out"), read_all(dir_ / "whole"));
}

// Without an allowance to reconnect, a lost control connection ends both halves with an
// error, and the far half aborts its consumer.
TEST_F(SessionTest, LostControlConnectionFailsBothHalvesWithoutReconnect) {
  BrokenPush p = push_broken_midway(std::chrono::milliseconds(0));
  ASSERT_FALSE(p.sum.ok());
  EXPECT_TRUE(p.broken);
  ASSERT_EQ(p.far_ends.size(), 1u);
  EXPECT_FALSE(p.far_ends[0].ok());
  EXPECT_NE(p.far_ends[0].message().find("the sending side went away"), std::string::npos) << p.far_ends[0].message();
  EXPECT_NE(read_all(dir_ / "out"), read_all(dir_ / "whole"));
}

}  // namespace
}  // namespace pgm::session
