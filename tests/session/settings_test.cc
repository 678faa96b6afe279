// The transfer settings as the commands give them, and what they resolve to.
#include "session/settings.h"

#include <gtest/gtest.h>

namespace pgm {
namespace {

TEST(Endpoint, Parses) {
  auto e = session::parse_endpoint("-");
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->stdio);
  e = session::parse_endpoint("root@db2.example.com:tank/pgdata");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->user, "root");
  EXPECT_EQ(e->host, "db2.example.com");
  EXPECT_EQ(e->name, "tank/pgdata");
  e = session::parse_endpoint("[::1]:tank/fs@s");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->name, "tank/fs@s");
  for (const char* bad : {"tank/fs", "host:", ":tank", "a b:tank", "h;x:tank", "[::1:tank", "u$(id)@h:t"})
    EXPECT_FALSE(session::parse_endpoint(bad).ok()) << bad;
}

TEST(TransferSettings, DefaultsResolve) {
  auto t = session::resolve_transfer({});
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->chunk_size, 4u << 20);
  EXPECT_EQ(t->level, 1);
  EXPECT_EQ(t->codec, stream::Codec::zstd);
  EXPECT_EQ(t->max_chunks, (192u << 20) / (2u * (4u << 20)));
  EXPECT_EQ(t->stall_timeout, std::chrono::minutes(5));
  EXPECT_EQ(t->rate, 0u);
  EXPECT_GE(t->workers, 1u);
}

TEST(TransferSettings, CompressWords) {
  session::TransferSettings s;
  s.compress = "auto";
  auto t = session::resolve_transfer(s);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->adaptive_max_level, 9);
  s.compress = "none";
  t = session::resolve_transfer(s);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->codec, stream::Codec::none);
  s.compress = "19";
  t = session::resolve_transfer(s);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->level, 19);
}

TEST(TransferSettings, RefusalsNameTheFlag) {
  auto refused = [](const session::TransferSettings& s) { return session::resolve_transfer(s).status().message(); };
  session::TransferSettings s;
  s.chunk_size = "1K";
  EXPECT_EQ(refused(s), "--chunk-size must be between 64K and 64M");
  s = {};
  s.compress = "20";
  EXPECT_EQ(refused(s), "--compress must be a zstd level 1..19, 'auto' or 'none'");
  s = {};
  s.max_memory = "8M";
  EXPECT_EQ(refused(s), "--max-memory 8M is too small for --chunk-size 4M (needs at least 8 chunks' worth)");
  s = {};
  s.threads = 300;
  EXPECT_EQ(refused(s), "--threads must be at most 256");
  s = {};
  s.stall_timeout = "soon";
  EXPECT_NE(refused(s).find("--stall-timeout"), std::string::npos);
  s = {};
  s.stall_timeout = "0";
  auto t = session::resolve_transfer(s);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->stall_timeout.count(), 0);
}

TEST(StreamSettings, IntoBothSides) {
  session::StreamSettings s;
  s.incremental = "@a";
  s.replicate = true;
  s.force = true;
  s.zfs.no_mount = true;
  s.zfs.set_props = {"mountpoint=/srv/pg"};
  source::SourceSpec src;
  sink::SinkSpec dst;
  ASSERT_TRUE(session::resolve_stream(s, src, dst).ok());
  EXPECT_EQ(src.flags.incremental, "@a");
  EXPECT_TRUE(src.flags.replicate);
  EXPECT_TRUE(dst.flags.force);
  EXPECT_TRUE(dst.flags.no_mount);
  ASSERT_EQ(dst.flags.set_props.size(), 1u);
  EXPECT_EQ(dst.flags.set_props[0].second, "/srv/pg");
  // A command that replaces zfs receive takes none of its flags.
  s.recv_cmd = "cat";
  EXPECT_EQ(session::resolve_stream(s, src, dst).message(),
            "-u/--recv-set/--recv-exclude are flags of zfs receive: --recv-cmd replaces it");
}

TEST(RemoteSettings, LocalExecNeedsNoSsh) {
  session::RemoteSettings s;
  s.local_exec = true;
  s.reconnect_timeout = "0";
  s.tls_port = 0;
  auto r = session::resolve_remote(s, {false, "u", "h", "tank/fs"});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->host_label, "u@h");
  EXPECT_EQ(r->network_host, "h");
  EXPECT_EQ(r->reconnect_timeout.count(), 0);
  EXPECT_EQ(r->tls_dial_host, "h");
  EXPECT_TRUE(static_cast<bool>(r->connect));
}

TEST(RemoteSettings, RefusalsNameTheFlag) {
  const session::Endpoint e{false, "", "h", "tank/fs"};
  auto refused = [&](const session::RemoteSettings& s) { return session::resolve_remote(s, e).status().message(); };
  session::RemoteSettings s;
  s.local_exec = true;
  s.ssh_config = "/x";
  EXPECT_EQ(refused(s), "--ssh-config and -o need SSH (not --local-exec)");
  s = {};
  s.local_exec = true;
  s.tls_connect = "h:1";
  EXPECT_EQ(refused(s), "--tls-connect needs --tls-port");
  s.tls_port = 0;
  s.tls_connect = "h:x";
  EXPECT_EQ(refused(s), "--tls-connect 'h:x': expected HOST:PORT");
  s = {};
  s.sudo_cmd = " ";
  EXPECT_EQ(refused(s), "--sudo-cmd is empty (use --no-sudo)");
  EXPECT_EQ(session::local_privilege_wrapper(s).status().message(), "--sudo-cmd is empty (use --no-sudo)");
  s = {};
  s.no_sudo = true;
  s.sudo_cmd = "doas";
  EXPECT_EQ(refused(s), "--no-sudo and --sudo-cmd contradict each other: pass one");
}

}  // namespace
}  // namespace pgm
