// The library against a real Postgres server: one cluster made by initdb in a temp dir (as the
// postgres user when the tests run as root), on a private unix socket, for the whole suite.
#include <pwd.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "pg/connection.h"
#include "pg/server_tools.h"
#include "pg/slot.h"

namespace pgm::pg {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

class Server : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/pgm-pg-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    data_ = root_ + "/data";
    std::vector<std::string> as;
    if (::geteuid() == 0) {
      struct passwd* pw = ::getpwnam("postgres");
      ASSERT_NE(pw, nullptr) << "tests run as root need a 'postgres' user to run initdb";
      ASSERT_EQ(::chown(root_.c_str(), pw->pw_uid, pw->pw_gid), 0);
      as = {"runuser", "-u", "postgres", "--"};
    }
    port_ = 30000 + static_cast<int>(std::random_device{}() % 20000);
    auto initdb = as;
    for (const std::string& a : {find_pg_program("initdb", 0), std::string("-D"), data_, std::string("-A"), std::string("trust"),
                                 std::string("-U"), std::string("postgres"), std::string("--no-sync")})
      initdb.push_back(a);
    auto r = run_bounded(initdb, 120s);
    ASSERT_TRUE(r.ok() && r->success()) << (r ? r->describe() : r.status().message());
    {
      std::ofstream conf(data_ + "/postgresql.conf", std::ios::app);
      conf << "listen_addresses = ''\nunix_socket_directories = '" << root_ << "'\nport = " << port_
           << "\nfsync = off\nshared_buffers = 16MB\nmax_wal_size = 64MB\nmin_wal_size = 32MB\n";
    }
    auto start = as;
    for (const std::string& a : {find_pg_program("pg_ctl", 0), std::string("-D"), data_, std::string("-l"), root_ + "/log",
                                 std::string("-w"), std::string("start")})
      start.push_back(a);
    r = run_bounded(start, 120s);
    ASSERT_TRUE(r.ok() && r->success()) << (r ? r->describe() : r.status().message());
    as_ = as;
  }
  static void TearDownTestSuite() {
    auto stop = as_;
    for (const std::string& a : {find_pg_program("pg_ctl", 0), std::string("-D"), data_, std::string("-m"), std::string("immediate"),
                                 std::string("-w"), std::string("stop")})
      stop.push_back(a);
    (void)run_bounded(stop, 60s);
    fs::remove_all(root_);
  }
  static std::string conninfo() { return "host=" + root_ + " port=" + std::to_string(port_) + " user=postgres dbname=postgres"; }
  static Connection connect() {
    auto c = Connection::connect(conninfo(), "primary");
    EXPECT_TRUE(c.ok()) << c.status().message();
    return std::move(*c);
  }
  static void make_wal(Connection& c, int mib) {
    ASSERT_TRUE(c.exec("CREATE TABLE IF NOT EXISTS filler (pad text)").ok());
    for (int i = 0; i < mib; ++i) ASSERT_TRUE(c.exec("INSERT INTO filler SELECT repeat('x', 900) FROM generate_series(1, 1000)").ok());
  }

  static inline std::string root_, data_;
  static inline int port_ = 0;
  static inline std::vector<std::string> as_;
};

TEST_F(Server, ConnectsAndRunsParameterizedQueries) {
  Connection c = connect();
  EXPECT_GE(c.server_version_num(), kMinServerVersion);
  auto r = c.exec("SELECT $1::int + 1 AS n, $2::text IS NULL AS isnull, $3::text AS s", {"41", std::nullopt, "it's"});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->get(0, "n"), "42");
  EXPECT_EQ(r->get(0, "isnull"), "t");
  EXPECT_EQ(r->get(0, 2), "it's");
  EXPECT_FALSE(r->get(0, "nosuch").has_value());
  EXPECT_FALSE(r->get(5, 0).has_value());
  auto lsn = c.scalar_lsn("SELECT pg_current_wal_lsn()");
  ASSERT_TRUE(lsn.ok());
  EXPECT_GT(lsn->value, 0u);
  EXPECT_EQ(c.quote_ident("my db"), "\"my db\"");
}

TEST_F(Server, ServerErrorsCarrySqlstate) {
  Connection c = connect();
  auto r = c.exec("SELECT * FROM no_such_table");
  EXPECT_EQ(r.status().code(), Errc::postgres);
  EXPECT_EQ(c.last_sqlstate(), "42P01");
  EXPECT_NE(r.status().message().find("no_such_table"), std::string::npos);
  EXPECT_EQ(r.status().message().find('\n'), std::string::npos);
  EXPECT_TRUE(c.exec("SELECT 1").ok());  // the session is still usable
}

TEST_F(Server, ConnectFailureNamesTheTargetButNotThePassword) {
  auto c = Connection::connect("host=" + root_ + " port=1 user=postgres password=s3cr3t connect_timeout=2", "standby");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Errc::postgres);
  EXPECT_NE(c.status().message().find("cannot connect to the standby"), std::string::npos);
  EXPECT_NE(c.status().message().find("--standby"), std::string::npos);
  EXPECT_EQ(c.status().message().find("s3cr3t"), std::string::npos);
  EXPECT_FALSE(server_answers("host=" + root_ + " port=1"));
  EXPECT_TRUE(server_answers(conninfo()));
  EXPECT_TRUE(server_accepts(conninfo()));
}

TEST_F(Server, SlotLifecycle) {
  Connection c = connect();
  auto s = create_slot(c, "unit_slot");
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_TRUE(s->restart_lsn.has_value());  // reserved at once
  EXPECT_EQ(s->slot_type, "physical");
  EXPECT_FALSE(s->active);
  if (c.server_version_num() >= 130000) {
    EXPECT_EQ(s->wal_status, "reserved");
  }
  EXPECT_EQ(create_slot(c, "unit_slot").status().code(), Errc::exists);

  make_wal(c, 3);
  auto later = slot_status(c, "unit_slot");
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->restart_lsn, s->restart_lsn);
  EXPECT_GE(later->retained_bytes, 2u << 20);
  EXPECT_EQ(later->retained_bytes, lsn_bytes_behind(later->current_lsn, *later->restart_lsn));

  EXPECT_TRUE(drop_slot(c, "unit_slot").ok());
  EXPECT_EQ(slot_status(c, "unit_slot").status().code(), Errc::not_found);
  EXPECT_EQ(drop_slot(c, "unit_slot").code(), Errc::not_found);
  EXPECT_EQ(create_slot(c, "Bad Name").status().code(), Errc::invalid_argument);
}

TEST_F(Server, GuardCheckTripsAtTheLimitAndDropsWhenAsked) {
  Connection c = connect();
  ASSERT_TRUE(create_slot(c, "guard_unit").ok());
  make_wal(c, 2);
  CancelToken token;
  GuardOptions opt;
  opt.primary_conninfo = conninfo();
  opt.slot = "guard_unit";
  opt.limit_bytes = 1 << 20;
  SlotGuard keep(opt, token);
  Status s = keep.check_once(c);
  EXPECT_EQ(s.code(), Errc::postgres);
  EXPECT_NE(s.message().find("--wal-limit"), std::string::npos);
  EXPECT_TRUE(token.cancelled());
  EXPECT_TRUE(slot_status(c, "guard_unit").ok());  // kept without drop_on_limit

  CancelToken token2;
  opt.drop_on_limit = true;
  SlotGuard drop(opt, token2);
  s = drop.check_once(c);
  EXPECT_NE(s.message().find("dropped the slot"), std::string::npos) << s.message();
  EXPECT_EQ(slot_status(c, "guard_unit").status().code(), Errc::not_found);
}

TEST_F(Server, GuardThreadWarnsThenTripsWhileTheServerWrites) {
  Connection c = connect();
  // A new slot reserves WAL from the last checkpoint's redo point: without a checkpoint here,
  // WAL that earlier tests wrote counts too, and the first sample can be past the limit already
  // (then the guard trips without the warning this test is about).
  ASSERT_TRUE(c.exec("CHECKPOINT").ok());
  ASSERT_TRUE(create_slot(c, "guard_thread").ok());
  CancelToken token;
  GuardOptions opt;
  opt.primary_conninfo = conninfo();
  opt.slot = "guard_thread";
  opt.warn_bytes = 1 << 20;
  opt.limit_bytes = 4 << 20;
  opt.interval = 100ms;
  std::atomic<int> warns{0}, samples{0};
  SlotGuard guard(opt, token, [&](GuardEvent ev, const SlotStatus&, const std::string&) {
    if (ev == GuardEvent::warn) ++warns;
    if (ev == GuardEvent::sample) ++samples;
  });
  ASSERT_TRUE(guard.start().ok());
  // About 1 MiB at a time with pauses longer than the interval, so the guard sees the warning
  // threshold pass before the limit does.
  for (int i = 0; i < 30 && !token.cancelled(); ++i) {
    make_wal(c, 1);
    std::this_thread::sleep_for(300ms);
  }
  for (int i = 0; i < 50 && !token.cancelled(); ++i) std::this_thread::sleep_for(100ms);
  guard.stop();
  EXPECT_TRUE(token.cancelled());
  EXPECT_EQ(guard.tripped().code(), Errc::postgres);
  EXPECT_EQ(warns.load(), 1);
  EXPECT_GE(samples.load(), 2);
  EXPECT_TRUE(drop_slot(c, "guard_thread").ok());
}

TEST_F(Server, GuardStartFailsOnAMissingSlot) {
  CancelToken token;
  GuardOptions opt;
  opt.primary_conninfo = conninfo();
  opt.slot = "never_created";
  SlotGuard guard(opt, token);
  EXPECT_EQ(guard.start().code(), Errc::not_found);
  EXPECT_FALSE(token.cancelled());
}

TEST_F(Server, ReadsControlDataOfARunningCluster) {
  auto dir = inspect_data_dir(data_);
  ASSERT_TRUE(dir.ok()) << dir.status().message();
  auto cd = read_controldata(*dir);
  ASSERT_TRUE(cd.ok()) << cd.status().message();
  EXPECT_EQ(cd->state, "in production");
  Connection c = connect();
  EXPECT_EQ(*c.scalar("SELECT system_identifier::text FROM pg_control_system()"), cd->system_identifier);
}

}  // namespace
}  // namespace pgm::pg
