// The pg commands' settings as text and what they resolve to: good values, defaults, and each
// refusal word for word (the messages are what a user of `pgmigrate pg ...`, send and recv sees).
#include "pg/settings.h"

#include <gtest/gtest.h>

#include "pg/debian_cluster.h"

namespace pgm::pg {
namespace {

using std::chrono::milliseconds;

template <typename T>
std::string refusal(const Result<T>& r) {
  EXPECT_FALSE(r.ok());
  return r ? std::string() : r.status().message();
}

TEST(Settings, SampleInterval) {
  EXPECT_EQ(*sample_interval("100ms", "--interval"), milliseconds(100));
  EXPECT_EQ(*sample_interval("5s", "--guard-interval"), milliseconds(5000));
  EXPECT_EQ(refusal(sample_interval("99ms", "--interval")), "--interval must be at least 100ms");
  EXPECT_EQ(refusal(sample_interval("0s", "--guard-interval")), "--guard-interval must be at least 100ms");
  EXPECT_EQ(refusal(sample_interval("soon", "--interval")), "--interval: invalid duration 'soon' (expected e.g. 30s, 10m, 2h)");
}

TEST(Settings, SlotGuardWithoutPrimary) {
  SlotGuardSettings s;
  auto none = slot_guard_options(s);
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_FALSE(none->has_value());
  const std::string need = "--wal-warn, --wal-limit and --drop-slot-on-limit need --primary";
  s.wal_warn = "1G";
  EXPECT_EQ(refusal(slot_guard_options(s)), need);
  s = SlotGuardSettings{};
  s.wal_limit = "1G";
  EXPECT_EQ(refusal(slot_guard_options(s)), need);
  s = SlotGuardSettings{};
  s.drop_on_limit = true;
  EXPECT_EQ(refusal(slot_guard_options(s)), need);
}

TEST(Settings, SlotGuard) {
  SlotGuardSettings s;
  s.primary = "host=db1";
  auto plain = slot_guard_options(s);
  ASSERT_TRUE(plain.ok() && plain->has_value());
  EXPECT_EQ((*plain)->primary_conninfo, "host=db1");
  EXPECT_EQ((*plain)->slot, kDefaultSlot);
  EXPECT_EQ((*plain)->warn_bytes, 0u);
  EXPECT_EQ((*plain)->limit_bytes, 0u);
  EXPECT_FALSE((*plain)->drop_on_limit);
  EXPECT_EQ((*plain)->interval, milliseconds(5000));

  s.slot = "other";
  s.wal_warn = "2G";
  s.wal_limit = "8G";
  s.drop_on_limit = true;
  s.interval = "250ms";
  auto g = slot_guard_options(s);
  ASSERT_TRUE(g.ok() && g->has_value());
  EXPECT_EQ((*g)->slot, "other");
  EXPECT_EQ((*g)->warn_bytes, 2ull << 30);
  EXPECT_EQ((*g)->limit_bytes, 8ull << 30);
  EXPECT_TRUE((*g)->drop_on_limit);
  EXPECT_EQ((*g)->interval, milliseconds(250));

  auto bad = s;
  bad.wal_warn = "lots";
  EXPECT_EQ(refusal(slot_guard_options(bad)), "--wal-warn: invalid size 'lots' (expected e.g. 4M, 512K, 2G)");
  bad = s;
  bad.wal_limit = "lots";
  EXPECT_EQ(refusal(slot_guard_options(bad)), "--wal-limit: invalid size 'lots' (expected e.g. 4M, 512K, 2G)");
  bad = s;
  bad.interval = "10ms";
  EXPECT_EQ(refusal(slot_guard_options(bad)), "--guard-interval must be at least 100ms");
  bad.interval = "x";
  EXPECT_EQ(refusal(slot_guard_options(bad)), "--guard-interval: invalid duration 'x' (expected e.g. 30s, 10m, 2h)");
}

TEST(Settings, SlotWatch) {
  SlotSettings s;
  s.guard.primary = "host=db1";
  EXPECT_EQ(slot_spec(s).primary_conninfo, "host=db1");
  EXPECT_EQ(slot_spec(s).slot, kDefaultSlot);
  auto spec = slot_watch_spec(s);
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_FALSE(spec->duration);
  EXPECT_EQ(spec->guard.interval, milliseconds(5000));
  s.guard.wal_limit = "1M";
  s.duration = "2m";
  spec = slot_watch_spec(s);
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_EQ(spec->guard.limit_bytes, 1u << 20);
  EXPECT_EQ(spec->duration, milliseconds(120000));

  auto bad = s;
  bad.guard.interval = "50ms";
  EXPECT_EQ(refusal(slot_watch_spec(bad)), "--interval must be at least 100ms");
  bad = s;
  bad.duration = "forever";
  EXPECT_EQ(refusal(slot_watch_spec(bad)), "--duration: invalid duration 'forever' (expected e.g. 30s, 10m, 2h)");
  bad = s;
  bad.guard.wal_warn = "1Q";
  EXPECT_EQ(refusal(slot_watch_spec(bad)), "--wal-warn: invalid size suffix in '1Q'");
}

ConfigBundle small_bundle() {
  ConfigBundle b;
  b.cluster = {15, "main"};
  b.conf_dir = "/etc/postgresql/15/main";
  b.data_directory = "/var/lib/postgresql/15/main";
  b.port = 5432;
  b.files.push_back(BundleFile{"postgresql.conf", 0644, "port = 5432\n"});
  return b;
}

StandbySettings standby_settings() {
  StandbySettings s;
  s.pgdata = "/tank/pg/data";
  s.primary = "host=db1";
  return s;
}

TEST(Settings, StandbyPlain) {
  StandbySettings s = standby_settings();
  s.relink = {"/src/pg=/dst/pg", "/src/wal/=/dst/wal"};
  s.port = 5433;
  s.standby = "host=/run/postgresql port=5433";
  s.log = "/tmp/pg.log";
  s.bindir = "/usr/lib/postgresql/15/bin";
  s.timeout = "90s";
  auto r = standby_request(s);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->setup.pgdata, "/tank/pg/data");
  ASSERT_EQ(r->setup.relink.size(), 2u);
  EXPECT_EQ(r->setup.relink[1].from, "/src/wal");
  EXPECT_EQ(r->setup.relink[1].to, "/dst/wal");
  EXPECT_EQ(r->setup.standby.primary_conninfo, "host=db1");
  EXPECT_EQ(r->setup.standby.slot, kDefaultSlot);
  EXPECT_EQ(r->setup.standby.port, 5433);
  EXPECT_FALSE(r->setup.debian);
  EXPECT_EQ(r->start.bindir, "/usr/lib/postgresql/15/bin");
  EXPECT_EQ(r->start.log_file, "/tmp/pg.log");
  EXPECT_EQ(r->start.check_conninfo, "host=/run/postgresql port=5433");
  EXPECT_EQ(r->start.timeout, milliseconds(90000));

  StandbySetup done;
  EXPECT_FALSE(start_options(*r, done).debian_cluster);
  done.debian.emplace();
  done.debian->target.id = {15, "moved"};
  auto so = start_options(*r, done);
  ASSERT_TRUE(so.debian_cluster);
  EXPECT_EQ(so.debian_cluster->name, "moved");
  EXPECT_EQ(so.timeout, milliseconds(90000));

  auto defaults = standby_request(standby_settings());
  ASSERT_TRUE(defaults.ok()) << defaults.status().message();
  EXPECT_FALSE(defaults->setup.standby.port);
  EXPECT_EQ(defaults->start.timeout, milliseconds(5 * 60 * 1000));
}

TEST(Settings, StandbyRefusals) {
  StandbySettings s = standby_settings();
  s.relink = {"/src/pg"};
  EXPECT_EQ(refusal(standby_request(s)), "--relink '/src/pg': expected FROM=TO, two absolute paths");
  s = standby_settings();
  s.timeout = "later";
  EXPECT_EQ(refusal(standby_request(s)), "--timeout: invalid duration 'later' (expected e.g. 30s, 10m, 2h)");
  for (int port : {-1, 65536}) {
    s = standby_settings();
    s.port = port;
    EXPECT_EQ(refusal(standby_request(s)), "--port must be 1..65535");
  }
  s = standby_settings();
  s.config_bundle = "/tmp/b.json";
  s.config_bundle_json = "{}";
  s.debian_cluster = "15/main";
  EXPECT_EQ(refusal(standby_request(s)), "--config-bundle and --config-bundle-json: give the bundle one way");
  const std::string together =
      "--debian-cluster and --config-bundle go together: the bundle comes from `pgmigrate pg cluster export` on the source";
  s = standby_settings();
  s.debian_cluster = "15/main";
  EXPECT_EQ(refusal(standby_request(s)), together);
  s = standby_settings();
  s.config_bundle = "/tmp/b.json";
  EXPECT_EQ(refusal(standby_request(s)), together);
  s = standby_settings();
  s.debian_cluster = "main";
  s.config_bundle_json = bundle_to_json(small_bundle());
  EXPECT_EQ(refusal(standby_request(s)), "--debian-cluster: 'main' is not a cluster VERSION/NAME such as 15/main (see pg_lsclusters)");
  s.debian_cluster = "15/main";
  s.config_bundle_json = "not json";
  EXPECT_EQ(refusal(standby_request(s)), "--config-bundle-json: not a config bundle from `pgmigrate pg cluster export`");
}

TEST(Settings, StandbyDebian) {
  StandbySettings s = standby_settings();
  s.debian_cluster = "15/moved";
  s.config_bundle_json = bundle_to_json(small_bundle());
  auto r = standby_request(s);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_TRUE(r->setup.debian);
  EXPECT_EQ(r->setup.debian->id.major, 15);
  EXPECT_EQ(r->setup.debian->id.name, "moved");
  EXPECT_EQ(r->setup.debian->bundle.cluster.name, "main");
  s.log = "/tmp/pg.log";
  EXPECT_EQ(refusal(standby_request(s)),
            "--log does not apply with --debian-cluster: postgresql-common logs to /var/log/postgresql/postgresql-15-moved.log");
}

TEST(Settings, Lag) {
  LagSettings s;
  s.primary = "host=db1";
  s.standby = "host=db2";
  const LagSpec spec = lag_spec(s);
  EXPECT_EQ(spec.primary_conninfo, "host=db1");
  EXPECT_EQ(spec.standby_conninfo, "host=db2");
  EXPECT_EQ(spec.slot, kDefaultSlot);
  s.wait = "1M";
  auto w = lag_wait(s);
  ASSERT_TRUE(w.ok()) << w.status().message();
  EXPECT_EQ(w->bound, 1u << 20);
  EXPECT_EQ(w->timeout, milliseconds(10 * 60 * 1000));
  s.wait = "much";
  EXPECT_EQ(refusal(lag_wait(s)), "--wait: invalid size 'much' (expected e.g. 4M, 512K, 2G)");
  s.wait = "1M";
  s.timeout = "never";
  EXPECT_EQ(refusal(lag_wait(s)), "--timeout: invalid duration 'never' (expected e.g. 30s, 10m, 2h)");
}

TEST(Settings, Switchover) {
  SwitchoverSettings s;
  s.primary = "host=db1";
  s.standby = "host=db2";
  s.primary_pgdata = "/var/lib/postgresql/15/main";
  auto o = switchover_options(s);
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->primary_conninfo, "host=db1");
  EXPECT_EQ(o->standby_conninfo, "host=db2");
  EXPECT_EQ(o->fence, Fence::stop);
  EXPECT_EQ(o->primary_pgdata, "/var/lib/postgresql/15/main");
  EXPECT_EQ(o->max_lag, 16ull << 20);
  EXPECT_EQ(o->timeout, milliseconds(120000));
  EXPECT_EQ(o->stop_timeout, milliseconds(60000));
  EXPECT_EQ(o->hook_timeout, milliseconds(60000));
  EXPECT_EQ(o->fallback_slot, "pgmigrate_fallback");
  EXPECT_EQ(o->direction, "switchover");

  s.fence = "connections";
  s.max_lag = "1M";
  s.timeout = "5m";
  s.stop_timeout = "10s";
  s.hook_timeout = "3s";
  s.direction = "fallback";
  s.keep_old_as_standby = true;
  o = switchover_options(s);
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->fence, Fence::connections);
  EXPECT_EQ(o->max_lag, 1u << 20);
  EXPECT_EQ(o->timeout, milliseconds(300000));
  EXPECT_EQ(o->stop_timeout, milliseconds(10000));
  EXPECT_EQ(o->hook_timeout, milliseconds(3000));
  EXPECT_EQ(o->direction, "fallback");
  EXPECT_TRUE(o->keep_old_as_standby);

  auto bad = s;
  bad.fence = "wall";
  EXPECT_EQ(refusal(switchover_options(bad)), "unknown --fence 'wall': use 'stop' or 'connections'");
  bad = s;
  bad.max_lag = "";
  EXPECT_EQ(refusal(switchover_options(bad)), "--max-lag: invalid size '' (expected e.g. 4M, 512K, 2G)");
  for (auto [field, flag] :
       {std::pair{&SwitchoverSettings::timeout, "--timeout"}, std::pair{&SwitchoverSettings::stop_timeout, "--stop-timeout"},
        std::pair{&SwitchoverSettings::hook_timeout, "--hook-timeout"}}) {
    bad = s;
    bad.*field = "x";
    EXPECT_EQ(refusal(switchover_options(bad)), std::string(flag) + ": invalid duration 'x' (expected e.g. 30s, 10m, 2h)");
  }
}

}  // namespace
}  // namespace pgm::pg
