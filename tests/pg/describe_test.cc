#include "pg/describe.h"

#include <gtest/gtest.h>

#include "pg/conninfo.h"

namespace pgm::pg {
namespace {

// The lines below are what e2e scripts and users read: a change here is a change of output.

SlotStatus streaming_slot() {
  SlotStatus s;
  s.name = "pgmigrate";
  s.slot_type = "physical";
  s.restart_lsn = *Lsn::parse("0/3000000");
  s.current_lsn = *Lsn::parse("0/3100000");
  s.retained_bytes = 1048576;
  s.active = true;
  s.active_pid = 4242;
  s.wal_status = "reserved";
  s.safe_wal_size = -5;
  return s;
}

TEST(Describe, SlotLinesNameEveryField) {
  const std::vector<std::string> want = {
      "slot           pgmigrate (physical)",     "restart_lsn    0/3000000", "current_lsn    0/3100000",
      "retained WAL   1.00 MiB (1048576 bytes)", "wal_status     reserved",  "safe_wal_size  0 B (0 bytes)",
      "active         yes, walsender pid 4242",
  };
  EXPECT_EQ(slot_lines(streaming_slot()), want);
}

TEST(Describe, SlotOnPostgres12HasDashesAndNoPid) {
  SlotStatus s = streaming_slot();
  s.restart_lsn.reset();
  s.wal_status.clear();
  s.safe_wal_size.reset();
  s.active = false;
  s.active_pid.reset();
  auto lines = slot_lines(s);
  EXPECT_EQ(lines[1], "restart_lsn    -");
  EXPECT_EQ(lines[4], "wal_status     - (Postgres 12)");
  EXPECT_EQ(lines[5], "safe_wal_size  -");
  EXPECT_EQ(lines[6], "active         no");
  s.wal_status = "extended";
  EXPECT_EQ(slot_lines(s)[5], "safe_wal_size  unlimited (max_slot_wal_keep_size = -1)");
  EXPECT_EQ(slot_sample_line(s), "slot pgmigrate: retained 1.00 MiB, wal_status extended, inactive");
}

TEST(Describe, SlotJsonHasNullsForWhatIsUnknown) {
  SlotStatus s = streaming_slot();
  s.wal_status.clear();
  s.safe_wal_size.reset();
  EXPECT_EQ(slot_json(s).dump(),
            R"({"active":true,"active_pid":4242,"current_lsn":"0/3100000","restart_lsn":"0/3000000","retained_bytes":1048576,)"
            R"("safe_wal_size":null,"slot":"pgmigrate","type":"physical","wal_status":null})");
  EXPECT_EQ(slot_created_line("pgmigrate", SlotOnPrimary{"primary db1:5432", s}),
            "created physical slot 'pgmigrate' on primary db1:5432; it retains WAL from 0/3000000: drop it if the migration is abandoned");
}

TEST(Describe, LagWithoutWalsenderSaysSo) {
  LagReport r;
  r.primary_lsn = *Lsn::parse("0/5000000");
  r.replay_lsn = *Lsn::parse("0/4000000");
  const std::vector<std::string> want = {
      "primary at 0/5000000; standby received - (- behind), replayed 0/4000000 (16.00 MiB behind)",
      "walsender: none on the primary for the slot (is the standby streaming through it?)",
  };
  EXPECT_EQ(lag_lines(r), want);
  auto j = lag_json(r);
  EXPECT_TRUE(j["receive_lag_bytes"].is_null());
  EXPECT_EQ(j["replay_lag_bytes"], 16777216u);
  EXPECT_EQ(j["walsender"], false);
}

TEST(Describe, LagWithWalsenderGivesBytesAndTimes) {
  LagReport r;
  r.primary_lsn = *Lsn::parse("0/5000000");
  r.walsender_found = true;
  r.state = "streaming";
  r.sent_lsn = r.write_lsn = r.flush_lsn = *Lsn::parse("0/5000000");
  r.replay_lag_s = 0.25;
  EXPECT_EQ(lag_lines(r)[1], "walsender streaming: sent 0 B, write 0 B, flush 0 B behind; time lag write -, flush -, replay 0.250s");
}

TEST(Describe, LayoutLinesAlignAndNameProblems) {
  LayoutReport r;
  r.items = {{"data directory", "/tank/pg/data", "tank/pg", true}, {"pg_wal", "/wal", "", false}};
  r.notes = {"check it"};
  r.problems = {"pg_wal is outside"};
  const std::vector<std::string> want = {
      "ok   data directory         /tank/pg/data (tank/pg)",
      "OUT  pg_wal                 /wal (no dataset)",
      "note: check it",
  };
  EXPECT_EQ(layout_lines(r), want);
  EXPECT_EQ(layout_problem_lines(r), std::vector<std::string>{"problem: pg_wal is outside"});
}

TEST(Describe, StandbySetupLinesEndWithWhatWasPrepared) {
  StandbySetup done;
  done.dir.path = "/tank/pg/data";
  done.relinked = {"pg_wal -> /new/wal"};
  done.prepared.removed = {"postmaster.pid", "pg_replslot/pgmigrate"};
  StandbySetup::Debian d;
  d.target.id = ClusterId{15, "main"};
  d.written.conf_dir = "/etc/postgresql/15/main";
  d.rendered.port = 5433;
  d.rendered.changes = {"postgresql.conf:3 port: 5432 -> 5433"};
  d.rendered.warnings = {"ssl_cert_file points at the source"};
  done.debian = d;
  const std::vector<std::string> want = {
      "relinked pg_wal -> /new/wal",
      "created Debian cluster 15/main in /etc/postgresql/15/main (port 5433)",
      "  postgresql.conf:3 port: 5432 -> 5433",
      "  warning: ssl_cert_file points at the source",
      "prepared /tank/pg/data as a standby of " + describe_conninfo("host=db1") +
          " through slot 'pgmigrate'; removed postmaster.pid, pg_replslot/pgmigrate",
  };
  EXPECT_EQ(standby_setup_lines(done, "host=db1", "pgmigrate"), want);
}

TEST(Describe, SwitchoverLines) {
  SwitchoverStep s;
  s.at = std::chrono::system_clock::time_point{};
  s.elapsed_s = 1.5;
  s.name = "fence";
  s.ok = false;
  s.detail = "refused";
  EXPECT_EQ(switchover_step_line(s), "1970-01-01T00:00:00.000Z  +   1.500s  fence        FAIL refused");
  SwitchoverReport r;
  r.promoted = true;
  r.write_window_s = 0.5;
  r.notes = {"slot stays"};
  const std::vector<std::string> want = {
      "note: slot stays",
      "write-unavailability window: 0.500s (fence to first write on the new primary)",
      "result: promoted",
  };
  EXPECT_EQ(switchover_result_lines(r), want);
  EXPECT_EQ(switchover_result_lines(SwitchoverReport{}).back(), "result: refused; nothing changed");
}

}  // namespace
}  // namespace pgm::pg
