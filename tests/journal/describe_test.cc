// What `pgmigrate status` prints of the journals (journal/describe.h). These lines are what e2e
// scripts and users read: a change here is a change of output.
#include "journal/describe.h"

#include <gtest/gtest.h>

namespace pgm::journal {
namespace {

Listed gone_receive() {
  Listed l;
  l.record.session = "abc123";
  l.record.role = "receive";
  l.record.state = "running";
  l.record.target = "tank/db";
  l.record.bytes = 2048;
  l.record.estimate = 4096;
  l.record.chunks = 3;
  l.record.rate = 1e6;
  l.record.rate_limit = 2000000;
  l.record.pid = 77;
  l.record.note = "waiting for its sender";
  l.record.started = 100;
  return l;
}

TEST(Describe, NoTransfersNamesTheDirectory) {
  EXPECT_EQ(transfers_lines({}, 0, "/var/lib/pgmigrate"),
            std::vector<std::string>{"no transfers in progress (state directory /var/lib/pgmigrate)"});
}

TEST(Describe, TableRowWithNoteAndCleanUp) {
  const std::vector<std::string> want = {
      "SESSION                           ROLE     STATE     TARGET                        POSITION                    RATE         AGE",
      "abc123                            receive  stale     tank/db                       2.00 KiB of 4.00 KiB (3 chunks)  1.0 MB/s (cap "
      "2.0 MB/s)  1m30s",
      "    waiting for its sender",
      "    its process (pid 77) is gone; 'pgmigrate abort abc123' cleans up",
  };
  EXPECT_EQ(transfers_lines({gone_receive()}, 190, "/d"), want);
}

TEST(Describe, StateIsStaleOnlyForAGoneUnfinishedProcess) {
  Listed l = gone_receive();
  EXPECT_EQ(listed_state(l), "stale");
  l.alive = true;
  EXPECT_EQ(listed_state(l), "running");
  l.alive = false;
  l.record.state = "done";
  EXPECT_EQ(listed_state(l), "done");
}

TEST(Describe, JsonAddsAliveStatusAndAge) {
  auto j = transfers_json({gone_receive()}, 190);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["session"], "abc123");
  EXPECT_EQ(j[0]["alive"], false);
  EXPECT_EQ(j[0]["status"], "stale");
  EXPECT_DOUBLE_EQ(j[0]["age_seconds"].get<double>(), 90);
}

}  // namespace
}  // namespace pgm::journal
