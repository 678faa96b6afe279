// `migrate run`/`plan`'s settings as given, and the Spec they resolve to.
#include "migrate/settings.h"

#include <gtest/gtest.h>

namespace pgm {
namespace {

migrate::RunSettings local_run() {
  migrate::RunSettings s;
  s.source = "tank/pgdata";
  s.target = "db2:tank/copy";
  s.primary = "host=/run/postgresql port=5432 user=postgres";
  s.standby_port = 5433;
  s.remote.local_exec = true;  // no ssh -G: the host is taken as given
  return s;
}

TEST(MigrateSettings, ResolvesASpec) {
  migrate::RunSettings s = local_run();
  s.zfs.raw = true;
  s.bulk_via = "s3://bucket/pre";
  auto r = migrate::resolve_run(s);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->spec.target_dataset, "tank/copy");
  EXPECT_EQ(r->spec.standby_primary, s.primary);
  // The default standby conninfo: the primary's, at the target host and --standby-port.
  EXPECT_NE(r->spec.standby_conninfo.find("db2"), std::string::npos);
  EXPECT_NE(r->spec.standby_conninfo.find("5433"), std::string::npos);
  EXPECT_EQ(r->spec.max_lag, 16u << 20);
  EXPECT_EQ(r->spec.delta_target, 1u << 30);
  EXPECT_TRUE(r->spec.send_flags.raw);
  EXPECT_EQ(r->spec.zfs_flags, std::vector<std::string>{"--raw"});
  EXPECT_EQ(r->spec.bulk_via, "s3://bucket/pre");
  EXPECT_EQ(r->remote.host_label, "db2");
  EXPECT_EQ(r->transfer.chunk_size, 4u << 20);
  EXPECT_FALSE(r->spec.run.want_switchover);
}

TEST(MigrateSettings, RefusalsNameTheFlag) {
  auto refused = [](const migrate::RunSettings& s) { return migrate::resolve_run(s).status().message(); };
  migrate::RunSettings s = local_run();
  s.target = "-";
  EXPECT_EQ(refused(s), "--target must be [user@]host:POOL/FS");
  s = local_run();
  s.standby_port = 0;
  EXPECT_EQ(refused(s), "--standby-port (or --standby CONNINFO) is required");
  s = local_run();
  s.guard.drop_slot_on_limit = true;
  EXPECT_EQ(refused(s), "--drop-slot-on-limit needs --wal-limit SIZE (the retention at which to drop the slot)");
  s = local_run();
  s.guard.interval = "10ms";
  EXPECT_EQ(refused(s), "--guard-interval must be at least 100ms");
  s = local_run();
  s.target_cluster = "15";
  EXPECT_EQ(refused(s).rfind("--target-cluster", 0), 0u) << refused(s);
  s = local_run();
  s.bulk_via = "ftp://x";
  EXPECT_EQ(refused(s).rfind("--bulk-via", 0), 0u) << refused(s);
}

TEST(MigrateSettings, WindowSettings) {
  migrate::RunSettings s = local_run();
  migrate::Spec spec;
  ASSERT_TRUE(migrate::resolve_window(s, spec).ok());
  EXPECT_EQ(spec.catchup_timeout, std::chrono::minutes(30));
  EXPECT_EQ(spec.switch_timeout, std::chrono::minutes(2));
  s.catchup_timeout = "later";
  EXPECT_EQ(migrate::resolve_window(s, spec).message().rfind("--catchup-timeout", 0), 0u);
  s = local_run();
  s.fence = "wall";
  EXPECT_FALSE(migrate::resolve_window(s, spec).ok());
}

TEST(MigrateSettings, OneMigrationCommands) {
  migrate::RunSettings s = local_run();
  EXPECT_EQ(migrate::resolve_watch(s).status().message(),
            "migrate watch needs --wal-limit SIZE (and/or --wal-warn SIZE): the retention to act on");
  s.guard.wal_limit = "8G";
  auto g = migrate::resolve_watch(s);
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(g->limit_bytes, 8ull << 30);
  EXPECT_EQ(g->primary_conninfo, s.primary);

  s.standby = "host=db2 port=5433";
  auto f = migrate::resolve_fallback(s);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->old_primary, s.primary);  // no --standby-primary: the target reaches it as we do
  EXPECT_EQ(f->new_primary, s.standby);
  EXPECT_EQ(f->timeout, std::chrono::minutes(2));
  s.switch_timeout = "x";
  EXPECT_EQ(migrate::resolve_fallback(s).status().message().rfind("--timeout", 0), 0u);

  EXPECT_EQ(*migrate::resolve_far_log_tail("1M"), 1u << 20);
  EXPECT_EQ(migrate::resolve_far_log_tail("0").status().message(), "--tail must be between 1 and 8.00 MiB");
  EXPECT_FALSE(migrate::resolve_far_log_tail("9M").ok());
}

}  // namespace
}  // namespace pgm
