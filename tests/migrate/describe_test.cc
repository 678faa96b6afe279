// What `migrate run|plan|status|far-log` print (migrate/describe.h). These lines are what e2e
// scripts and users read: a change here is a change of output.
#include "migrate/describe.h"

#include <gtest/gtest.h>

namespace pgm::migrate {
namespace {

TEST(Describe, ProgressLinesNumberTheSteps) {
  EXPECT_EQ(progress_line("bulk", "sending"), "migrate [2/8 bulk] sending");
  EXPECT_EQ(progress_line("cleanup", "done"), "migrate [8/8 cleanup] done");
  EXPECT_EQ(progress_line("guard", "slot retains 1G"), "migrate [guard] slot retains 1G");
  EXPECT_EQ(progress_event("bulk", "x").dump(), R"({"event":"step","message":"x","step":"bulk"})");
}

TEST(Describe, RunStartStopAndReady) {
  Spec spec;
  spec.source = "tank/pg";
  spec.target = "db2:tank/pg";
  spec.standby_conninfo = "host=db2 port=5433 password=secret";
  EXPECT_EQ(run_started_text("m1", spec, "/s/migrations/m1.json"), "migration m1: tank/pg -> db2:tank/pg (state /s/migrations/m1.json)");
  State st;
  st.id = "m1";
  st.current_step = "catchup";
  st.slot = "pgmigrate_m1";
  EXPECT_EQ(stopped_line(st), "migrate: stopped in step catchup; run the same command again to continue, or 'pgmigrate migrate abort m1'");
  const std::string ready = ready_line(st, spec);
  EXPECT_EQ(ready.rfind("ready: the standby streams from the primary through slot 'pgmigrate_m1'. In the maintenance window", 0), 0u)
      << ready;
  EXPECT_EQ(ready.find("secret"), std::string::npos) << ready;
  EXPECT_NE(ready.find("--slot pgmigrate_m1)."), std::string::npos) << ready;
}

TEST(Describe, ReportListsTheStepsThatRanInOrder) {
  State st;
  st.id = "m1";
  st.steps["bulk"] = StepRecord{"done", std::nullopt, std::nullopt, 65.0, 2048, std::nullopt};
  st.steps["preflight"] = StepRecord{"done", std::nullopt, std::nullopt, 1.25, std::nullopt, std::string("3 datasets")};
  st.peak_retained = 1048576;
  st.write_window_s = 0.5;
  const std::vector<std::string> want = {
      "migration m1 report",
      "  preflight: done, 1.2s (3 datasets)",
      "  bulk: done, 1m05s, 2.00 KiB sent",
      "  peak WAL retained by the slot: 1.00 MiB",
      "  write-unavailability window: 0.500s",
  };
  EXPECT_EQ(report_lines(st), want);
}

Preflight tree_preflight() {
  Preflight p;
  p.referenced = 1000;
  p.logical = 2000000;
  p.logical_basis = "logicalreferenced";
  p.data_directory = "/tank/pg/data";
  p.datasets = {"tank/pg", "tank/pg/wal"};
  p.pg_major = 16;
  p.target = nlohmann::json{{"zfs", "2.2.2"}, {"pool_available", 5000000}};
  p.notes = {"archiving is on"};
  return p;
}

TEST(Describe, PlanNamesEveryStep) {
  Spec spec;
  spec.source = "tank/pg";
  spec.target = "db2:tank/pg";
  spec.rounds = 2;
  spec.standby_port = 5433;
  const PlanWording words{"db2", 1e6, "1G", "16M", "stop", true};
  const std::vector<std::string> want = {
      "migration plan: tank/pg -> db2:tank/pg (nothing has been changed)",
      "  data directory /tank/pg/data (Postgres 16), on the tree tank/pg, tank/pg/wal: snapshotted together (zfs snapshot -r), each "
      "dataset sent",
      "  size: 1.91 MiB logical (logicalreferenced), 1000 B as stored on the source",
      "  target: 2.2.2; pool has 4.77 MiB available; needs up to 1.91 MiB (less if the target compresses)",
      "  1. preflight: passed",
      "  2. bulk: snapshot @pgmigrate-<id>-base, hold it, send 1.91 MiB (~2.0s at 976.56 KiB/s); no slot, the primary is unaffected",
      "  3. rounds: up to 2 incremental send(s), stopping once one moves less than 1G",
      "  4. final: create slot, CHECKPOINT, snapshot @pgmigrate-<id>-final, send the increment (the slot retains WAL only from here)",
      "  5. standby: prepare and start a streaming standby on db2, port 5433",
      "  6. catchup: wait until replay lag is under 16M",
      "  7. switchover: pre-fence hook, fence stop, promote, post-hook",
      "  8. cleanup: release holds, drop the slot where possible, destroy the migration snapshots",
      "  note: archiving is on",
  };
  EXPECT_EQ(plan_lines(tree_preflight(), spec, words), want);
}

TEST(Describe, PlanOfOneDatasetWithADebianCluster) {
  Preflight p = tree_preflight();
  p.datasets = {"tank/pg"};
  DebianPlan d;
  d.source = pg::ClusterId{15, "main"};
  d.target = pg::ClusterId{15, "new"};
  d.target_pgdata = "/tank/pg/data";
  d.rendered.conf_dir = "/etc/postgresql/15/new";
  d.rendered.port = 5433;
  d.rendered.changes = {"port: 5432 -> 5433"};
  d.rendered.warnings = {"ssl_cert_file"};
  p.debian = d;
  Spec spec;
  spec.source = "tank/pg";
  spec.keep_snapshots = true;
  auto lines = plan_lines(p, spec, PlanWording{"db2", 1e6, "1G", "16M", "stop", false});
  EXPECT_EQ(lines[1], "  data directory /tank/pg/data (Postgres 16), all of it on tank/pg");
  EXPECT_EQ(lines[9],
            "     as Debian cluster 15/new on db2 (the primary is cluster 15/main): /etc/postgresql/15/new from its 0 configuration "
            "file(s), port 5433, data directory /tank/pg/data, started with pg_ctlcluster");
  EXPECT_EQ(lines[10], "       port: 5432 -> 5433");
  EXPECT_EQ(lines[11], "     warning: ssl_cert_file");
  EXPECT_EQ(lines[13], "  7. switchover: not requested (stops ready; rerun with --switchover)");
  EXPECT_EQ(lines[14], "  8. cleanup: release holds, drop the slot where possible, keep the migration snapshots");
}

TEST(Describe, StatusLines) {
  EXPECT_EQ(status_lines({}, "/s"), std::vector<std::string>{"no migrations in " + migrations_dir("/s")});
  StatusView v;
  v.state.id = "m1";
  v.state.source = "tank/pg";
  v.state.target = "db2:tank/pg";
  v.state.current_step = "bulk";
  v.state.transfer = TransferProgress{"tank/pg@base", 1024, 1e6};
  v.state.slot = "pgmigrate";
  v.state.slot_retained = 2048;
  v.state.lag_bytes = 0;
  v.state.error = "lost";
  v.phase = "running";
  v.age_s = 90;
  v.bulk_total = 4096;
  v.eta_s = 3;
  const std::vector<std::string> want = {
      "m1  tank/pg -> db2:tank/pg  running, step bulk, age 1m30s",
      "    sending tank/pg@base: 1.00 KiB of ~4.00 KiB, ETA 3.0s at 1.0 MB/s",
      "    slot pgmigrate retains 2.00 KiB (peak 0 B)",
      "    standby replay lag 0 B",
      "    last error: lost",
  };
  EXPECT_EQ(status_lines({v}, "/s"), want);
  v.alive = true;
  auto j = status_json({v});
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["alive"], true);
  EXPECT_EQ(j[0]["id"], "m1");
}

TEST(Describe, FarLogHeader) {
  EXPECT_EQ(far_log_header(FarLog{"db2", "/var/lib/pgmigrate/far-half.log", "ab\n", 2048}),
            "far half's log on db2: /var/lib/pgmigrate/far-half.log (2.00 KiB; its last 3 B shown, older lines in "
            "/var/lib/pgmigrate/far-half.log.1)");
}

}  // namespace
}  // namespace pgm::migrate
