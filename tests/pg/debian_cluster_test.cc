// Debian/Ubuntu clusters: the parsers (cluster ids, pg_lsclusters, postgresql.conf), the bundle
// round trip, and a bundle turned into a target configuration directory in a temp dir that
// stands in for /etc/postgresql (real files, no server needed).
#include "pg/debian_cluster.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "pg/auto_conf.h"
#include "pg/test_files.h"

namespace pgm::pg {
namespace {
namespace fs = std::filesystem;

using test_files::read;
using test_files::write;

bool has(const std::vector<std::string>& lines, const std::string& part) {
  for (const auto& l : lines)
    if (l.find(part) != std::string::npos) return true;
  return false;
}

TEST(ClusterId, Parses) {
  auto a = parse_cluster_id("15/main");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->major, 15);
  EXPECT_EQ(a->name, "main");
  EXPECT_EQ(a->str(), "15/main");
  EXPECT_EQ(a->unit(), "postgresql@15-main");
  auto b = parse_cluster_id("16-my-db");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->name, "my-db");
  for (const char* bad : {"main", "15/", "/main", "15/../x", "15/a b", "9.6/main", "15/.hidden", "x5/main", "15/a/b"})
    EXPECT_FALSE(parse_cluster_id(bad).ok()) << bad;
}

TEST(LsClusters, ParsesHeaderAndStatus) {
  auto l = parse_lsclusters(
      "Ver Cluster Port Status          Owner    Data directory              Log file\n"
      "15  main    5432 down            postgres /var/lib/postgresql/15/main /var/log/postgresql/postgresql-15-main.log\n"
      "15  new     5433 online,recovery postgres /tank/pg/data               /var/log/postgresql/postgresql-15-new.log\n"
      "9.6 old     5434 online          postgres /var/lib/postgresql/9.6/old /var/log/x.log\n");
  ASSERT_TRUE(l.ok()) << l.status().message();
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0].id, (ClusterId{15, "main"}));
  EXPECT_FALSE((*l)[0].online);
  EXPECT_EQ((*l)[1].port, 5433);
  EXPECT_TRUE((*l)[1].online);
  EXPECT_TRUE((*l)[1].recovery);
  EXPECT_EQ((*l)[1].pgdata, "/tank/pg/data");
  EXPECT_FALSE(parse_lsclusters("15 main 5432\n").ok());
}

TEST(Conf, ParsesPostgresSyntax) {
  auto s = parse_conf(
      "# comment\n"
      "data_directory = '/var/lib/postgresql/15/main'\t\t# use data in another directory\n"
      "Port=5433\n"
      "  shared_buffers 128MB # no equals sign\n"
      "log_line_prefix = '%m [%p] it''s \\\\ here'\n"
      "broken = 'unterminated\n"
      "include_dir = 'conf.d'\n");
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s[0].name, "data_directory");
  EXPECT_EQ(s[0].value, "/var/lib/postgresql/15/main");
  EXPECT_EQ(s[0].line, 1u);
  EXPECT_EQ(s[1].name, "port");
  EXPECT_EQ(s[1].value, "5433");
  EXPECT_EQ(s[2].value, "128MB");
  EXPECT_EQ(s[3].value, "%m [%p] it's \\ here");
  EXPECT_EQ(s[4].name, "include_dir");
  EXPECT_EQ(quote_conf_value("it's \\"), "'it''s \\\\'");
  EXPECT_EQ(parse_conf("x = " + quote_conf_value("it's \\ ok") + "\n")[0].value, "it's \\ ok");
  EXPECT_EQ(path_setting("hba_file"), PathUse::read);
  EXPECT_EQ(path_setting("archive_command"), PathUse::command);
  EXPECT_FALSE(path_setting("work_mem").has_value());
}

TEST(ConfigFile, NamesTheCluster) {
  EXPECT_EQ(cluster_from_config_file("/etc/postgresql/15/main/postgresql.conf"), (ClusterId{15, "main"}));
  EXPECT_FALSE(cluster_from_config_file("/var/lib/pg/data/postgresql.conf").has_value());
  EXPECT_FALSE(cluster_from_config_file("/etc/postgresql/15/a/b/postgresql.conf").has_value());
  EXPECT_FALSE(cluster_from_config_file("/etc/postgresql/15-main/postgresql.conf").has_value());
}

TEST(ClusterCommand, ManagerWay) {
  EXPECT_EQ(cluster_command({15, "main"}, ClusterAction::stop, false, std::chrono::seconds(30)).describe,
            "pg_ctlcluster 15 main stop -m fast -- -t 30");
  EXPECT_EQ(cluster_command({15, "main"}, ClusterAction::start, false, std::chrono::seconds(30)).describe,
            "pg_ctlcluster 15 main start -- -t 30");
  EXPECT_EQ(cluster_command({15, "main"}, ClusterAction::stop, true, std::chrono::seconds(30)).describe,
            "systemctl stop postgresql@15-main");
}

// A source configuration directory laid out as pg_createcluster makes it, plus an included file,
// conf.d, and settings that point at the source host.
class DebianConf : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = test_files::make_temp_dir("pgm-debian-test");
    ASSERT_FALSE(root_.empty());
    src_root_ = root_ / "src-etc";
    dst_root_ = root_ / "dst-etc";
    pgdata_ = root_ / "data";
    fs::create_directories(dst_root_);
    const fs::path c = src_root_ / "15" / "main";
    const std::string cd = c.string();
    write(c / "postgresql.conf",
          "data_directory = '/var/lib/postgresql/15/main'\n"
          "hba_file = '" +
              cd +
              "/pg_hba.conf'\n"
              "ident_file = '" +
              cd +
              "/pg_ident.conf'\n"
              "external_pid_file = '/var/run/postgresql/15-main.pid'\n"
              "port = 5432\n"
              "unix_socket_directories = '/var/run/postgresql'\n"
              "ssl_cert_file = '/etc/ssl/certs/source-only.pem'\n"
              "cluster_name = '15/main'\n"
              "include 'extra.conf'\n"
              "include_if_exists = '/etc/elsewhere/maybe.conf'\n"
              "include_dir = 'conf.d'\n");
    write(c / "extra.conf", "archive_command = 'cp %p /var/lib/postgresql/15/main/../archive/%f'\n");
    write(c / "conf.d" / "10-port.conf", "port = 5440\nlog_directory = '/var/lib/postgresql/15/main/log'\n");
    write(c / "conf.d" / "README", "not a .conf file: copied, not parsed\n");
    write(c / "pg_hba.conf", "local all postgres peer\n");
    write(c / "pg_ident.conf", "");
    write(c / "start.conf", "auto\n");
    write(c / "pg_ctl.conf", "pg_ctl_options = ''\n");
    write(c / "environment", "");
    ::chmod((c / "pg_hba.conf").c_str(), 0640);
    fs::create_directories(pgdata_);
    write(pgdata_ / "PG_VERSION", "15\n");
    write(pgdata_ / "global" / "pg_control", "");
  }
  void TearDown() override { fs::remove_all(root_); }

  ConfigBundle bundle() {
    auto b = collect_bundle({15, "main"}, src_root_.string());
    EXPECT_TRUE(b.ok()) << b.status().message();
    return b ? *b : ConfigBundle{};
  }
  TargetCluster target(const std::string& name = "moved") {
    TargetCluster t;
    t.id = {15, name};
    t.pgdata = pgdata_.string();
    t.conf_root = dst_root_.string();
    return t;
  }
  DataDir data() {
    auto d = inspect_data_dir(pgdata_.string());
    EXPECT_TRUE(d.ok()) << d.status().message();
    return d ? *d : DataDir{};
  }

  fs::path root_, src_root_, dst_root_, pgdata_;
};

TEST_F(DebianConf, BundleRoundTrips) {
  ConfigBundle b = bundle();
  EXPECT_EQ(b.data_directory, "/var/lib/postgresql/15/main");
  EXPECT_EQ(b.port, 5440) << "conf.d is read after postgresql.conf";
  EXPECT_EQ(b.files.size(), 9u);
  auto back = bundle_from_json(bundle_to_json(b));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->cluster, b.cluster);
  ASSERT_EQ(back->files.size(), b.files.size());
  for (std::size_t i = 0; i < b.files.size(); ++i) {
    EXPECT_EQ(back->files[i].path, b.files[i].path);
    EXPECT_EQ(back->files[i].content, b.files[i].content);
    EXPECT_EQ(back->files[i].mode, b.files[i].mode);
  }
  EXPECT_FALSE(collect_bundle({15, "absent"}, src_root_.string()).ok());
}

TEST_F(DebianConf, BundleFileIsPrivateAndReadsBack) {
  const ConfigBundle b = bundle();
  const std::string file = (root_ / "bundle.json").string();
  ASSERT_TRUE(write_bundle_file(b, file).ok());
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "the bundle holds pg_hba.conf";
  auto back = read_bundle_file(file);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->files.size(), b.files.size());
  const Status missing = write_bundle_file(b, (root_ / "absent" / "bundle.json").string());
  EXPECT_EQ(missing.message().rfind("--out: ", 0), 0u) << missing.message();
}

TEST_F(DebianConf, BundleFromAnotherHostIsValidated) {
  const std::string good = bundle_to_json(bundle());
  EXPECT_FALSE(bundle_from_json("{}").ok());
  EXPECT_FALSE(bundle_from_json("not json").ok());
  for (const char* evil : {"../escape", "/etc/passwd", "conf.d/../../x", "a/b/c"}) {
    std::string text = good;
    const std::string needle = "\"path\": \"environment\"";
    auto at = text.find(needle);
    ASSERT_NE(at, std::string::npos);
    text.replace(at, needle.size(), std::string("\"path\": \"") + evil + "\"");
    EXPECT_FALSE(bundle_from_json(text).ok()) << evil;
  }
}

TEST_F(DebianConf, RendersTheTargetWithEveryPathRewrittenOrReported) {
  const std::string dst_conf = (dst_root_ / "15" / "moved").string();
  auto r = render_cluster_config(bundle(), target(), 15, [](const std::string& p) { return p == "/var/run/postgresql"; });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->conf_dir, dst_conf);
  EXPECT_EQ(r->port, 5440);
  std::map<std::string, std::string> files;
  for (const auto& f : r->files) files[f.path] = f.content;
  auto settings = [&](const std::string& file) {
    std::map<std::string, std::string> m;
    for (const auto& s : parse_conf(files[file])) m[s.name] = s.value;
    return m;
  };
  auto main = settings("postgresql.conf");
  EXPECT_EQ(main["data_directory"], pgdata_.string());
  EXPECT_EQ(main["hba_file"], dst_conf + "/pg_hba.conf");
  EXPECT_EQ(main["ident_file"], dst_conf + "/pg_ident.conf");
  EXPECT_EQ(main["external_pid_file"], "/var/run/postgresql/15-moved.pid");
  EXPECT_EQ(main["cluster_name"], "15/moved");
  EXPECT_EQ(main["port"], "5440");
  EXPECT_EQ(main["unix_socket_directories"], "/var/run/postgresql");
  EXPECT_EQ(settings("conf.d/10-port.conf")["log_directory"], pgdata_.string() + "/log");
  EXPECT_EQ(files["pg_hba.conf"], "local all postgres peer\n");
  EXPECT_EQ(files["conf.d/README"], "not a .conf file: copied, not parsed\n");
  EXPECT_TRUE(has(r->warnings, "ssl_cert_file = '/etc/ssl/certs/source-only.pem'")) << ::testing::PrintToString(r->warnings);
  EXPECT_TRUE(has(r->warnings, "extra.conf:1 archive_command mentions the source's '/var/lib/postgresql/15/main'"));
  EXPECT_TRUE(has(r->warnings, "include_if_exists '/etc/elsewhere/maybe.conf'"));
  EXPECT_TRUE(has(r->changes, "postgresql.conf:1 data_directory"));
  EXPECT_FALSE(has(r->warnings, "hba_file")) << "the bundle brings it";
  EXPECT_FALSE(has(r->warnings, "ident_file")) << "the bundle brings it";

  // With --port, every port line says it.
  TargetCluster t = target();
  t.port = 6000;
  auto p = render_cluster_config(bundle(), t, 15, path_exists_here);
  ASSERT_TRUE(p.ok());
  for (const auto& f : p->files)
    for (const auto& s : parse_conf(f.content))
      if (s.name == "port") {
        EXPECT_EQ(s.value, "6000") << f.path;
      }
}

TEST_F(DebianConf, RefusesAnotherMajorVersion) {
  auto r = render_cluster_config(bundle(), target(), 16);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("from Postgres 15"), std::string::npos) << r.status().message();
  TargetCluster t = target();
  t.id.major = 16;
  EXPECT_FALSE(render_cluster_config(bundle(), t, 15).ok());
}

TEST_F(DebianConf, WritesTheDirectoryWholeAndRefusesANameTaken) {
  auto r = render_cluster_config(bundle(), target(), 15);
  ASSERT_TRUE(r.ok());
  auto w = write_cluster_config(*r, target(), data());
  ASSERT_TRUE(w.ok()) << w.status().message();
  EXPECT_FALSE(w->replaced);
  const fs::path d = dst_root_ / "15" / "moved";
  EXPECT_NE(read(d / "postgresql.conf").find("data_directory = '" + pgdata_.string() + "'"), std::string::npos);
  EXPECT_EQ(read(d / "start.conf"), "auto\n");
  EXPECT_EQ(read(d / "conf.d" / "10-port.conf").substr(0, 11), "port = 5440");
  struct stat st {};
  ASSERT_EQ(::stat((d / "pg_hba.conf").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_EQ(st.st_uid, data().owner_uid);
  EXPECT_FALSE(fs::exists(dst_root_ / "15" / ".moved.pgmigrate-tmp"));
  auto existing = existing_cluster_data_dir({15, "moved"}, dst_root_.string());
  ASSERT_TRUE(existing.ok());
  EXPECT_EQ(existing->value_or("?"), pgdata_.string());

  // Again for the same data directory: replaced.
  auto again = write_cluster_config(*r, target(), data());
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_TRUE(again->replaced);

  // A cluster of that name with another data directory: refused by the plan, nothing written.
  write(dst_root_ / "15" / "taken" / "postgresql.conf", "data_directory = '/srv/other'\n");
  auto plan = plan_target_cluster(bundle(), target("taken"), data());
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), Errc::exists);
  EXPECT_NE(plan.status().message().find("/srv/other"), std::string::npos);
  EXPECT_FALSE(write_cluster_config(*r, target("taken"), data()).ok());
  EXPECT_EQ(read(dst_root_ / "15" / "taken" / "postgresql.conf"), "data_directory = '/srv/other'\n");
  EXPECT_FALSE(fs::exists(dst_root_ / "15" / ".taken.pgmigrate-tmp"));
}

TEST_F(DebianConf, EditorLeftoversAreLeftOutOfTheBundle) {
  const fs::path c = src_root_ / "15" / "main";
  write(c / ".postgresql.conf.swp", std::string("\xff\xfe binary swap file"));
  write(c / "pg_hba.conf~", "old\n");
  const ConfigBundle b = bundle();
  for (const auto& f : b.files) EXPECT_TRUE(f.path != ".postgresql.conf.swp" && f.path != "pg_hba.conf~") << f.path;
  EXPECT_EQ(std::count_if(b.notes.begin(), b.notes.end(),
                          [](const std::string& n) { return n.find("hidden or backup file") != std::string::npos; }),
            2);
}

TEST_F(DebianConf, RemovingAClusterFollowsNoLink) {
  // The cluster's directory swapped for a link to somewhere else: only the link goes.
  const fs::path elsewhere = root_ / "elsewhere";
  write(elsewhere / "precious", "keep\n");
  fs::create_directories(dst_root_ / "15");
  fs::create_directory_symlink(elsewhere, dst_root_ / "15" / "moved");
  ASSERT_TRUE(remove_cluster_config({15, "moved"}, dst_root_.string()).ok());
  EXPECT_FALSE(fs::exists(fs::symlink_status(dst_root_ / "15" / "moved")));
  EXPECT_TRUE(fs::exists(elsewhere / "precious"));
  // A real directory goes with everything in it, conf.d included.
  write(dst_root_ / "15" / "real" / "conf.d" / "a.conf", "port = 1\n");
  ASSERT_TRUE(remove_cluster_config({15, "real"}, dst_root_.string()).ok());
  EXPECT_FALSE(fs::exists(dst_root_ / "15" / "real"));
  EXPECT_TRUE(remove_cluster_config({15, "absent"}, dst_root_.string()).ok());
}

TEST(StartConf, ModeAndRewriteKeepComments) {
  const std::string stock = "# Automatic startup configuration\n#   auto: automatically start the cluster\n\nauto\n";
  EXPECT_EQ(parse_start_mode(stock), "auto");
  EXPECT_EQ(parse_start_mode("# only comments\n"), "auto");
  EXPECT_EQ(parse_start_mode("  manual  # by hand\n"), "manual");
  EXPECT_EQ(with_start_mode(stock, "manual"), "# Automatic startup configuration\n#   auto: automatically start the cluster\n\nmanual\n");
  EXPECT_EQ(with_start_mode("# none\n", "manual"), "# none\nmanual\n");
}

TEST_F(DebianConf, StartModeIsWrittenInPlaceKeepingItsMode) {
  const ClusterId id{15, "main"};
  auto before = read_start_mode(id, src_root_.string());
  ASSERT_TRUE(before.ok()) << before.status().message();
  EXPECT_EQ(*before, "auto");
  const fs::path file = src_root_ / "15" / "main" / "start.conf";
  ::chmod(file.c_str(), 0640);
  ASSERT_TRUE(write_start_mode(id, "manual", src_root_.string()).ok());
  EXPECT_EQ(*read_start_mode(id, src_root_.string()), "manual");
  EXPECT_EQ(fs::status(file).permissions() & fs::perms::all, fs::perms(0640));
  ASSERT_TRUE(write_start_mode(id, "auto", src_root_.string()).ok());
  EXPECT_EQ(*read_start_mode(id, src_root_.string()), "auto");
  EXPECT_EQ(*read_start_mode({15, "absent"}, src_root_.string()), "auto") << "postgresql-common's default";
}

}  // namespace
}  // namespace pgm::pg
