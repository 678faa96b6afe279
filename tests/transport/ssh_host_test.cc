// resolve_ssh_host: a host named in an OpenSSH configuration file (-F), resolved by the real
// `ssh -G` into a connection's target, with explicit settings winning.
#include "transport/ssh_host.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace pgm::transport {
namespace {

class SshHostTest : public ::testing::Test {
 protected:
  void SetUp() override { config_ = ::testing::TempDir() + "ssh_host_test_" + std::to_string(::getpid()) + ".conf"; }
  void TearDown() override {
    if (!config_.empty()) std::remove(config_.c_str());
  }
  void write(const std::string& text) const { std::ofstream(config_) << text; }
  SshHostSpec spec(const std::string& host) const {
    SshHostSpec s;
    s.host = host;
    s.config_file = config_;
    return s;
  }
  std::string config_;
};

TEST_F(SshHostTest, AliasResolvedThroughTheConfiguration) {
  write("Host db2\n  HostName 127.0.0.9\n  Port 2222\n  User bob\n  ConnectTimeout 7\n  ProxyJump jump\n");
  auto h = resolve_ssh_host(spec("db2"));
  ASSERT_TRUE(h.ok()) << h.status().message();
  EXPECT_EQ(h->network_host, "127.0.0.9");
  EXPECT_EQ(h->target.host, "127.0.0.9");
  EXPECT_EQ(h->target.port, 2222);
  EXPECT_EQ(h->target.user, "bob");
  EXPECT_EQ(h->target.connect_timeout, std::chrono::seconds(7));
  EXPECT_FALSE(h->target.proxy_argv.empty());
}

TEST_F(SshHostTest, ExplicitSettingsWin) {
  write("Host db2\n  HostName 127.0.0.9\n  Port 2222\n  ConnectTimeout 7\n");
  SshHostSpec explicit_spec = spec("db2");
  explicit_spec.port = 2200;
  explicit_spec.connect_timeout = std::chrono::seconds(3);
  auto h = resolve_ssh_host(explicit_spec);
  ASSERT_TRUE(h.ok()) << h.status().message();
  EXPECT_EQ(h->target.port, 2200);
  EXPECT_EQ(h->target.connect_timeout, std::chrono::seconds(3));
  write("Host db2\n  HostName 127.0.0.9\n");
  auto d = resolve_ssh_host(spec("db2"));
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->target.port, 22);
  EXPECT_EQ(d->target.connect_timeout, kDefaultSshConnectTimeout);
  EXPECT_TRUE(d->target.proxy_argv.empty());
}

TEST_F(SshHostTest, Refusals) {
  write("Host db2\n  StrictHostKeyChecking no\n");
  auto h = resolve_ssh_host(spec("db2"));
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), Errc::invalid_argument);
  EXPECT_NE(h.status().message().find("never trusts an unverified host key"), std::string::npos);
  EXPECT_EQ(resolve_ssh_host(spec("-oProxyCommand=x")).status().code(), Errc::invalid_argument);
}

}  // namespace
}  // namespace pgm::transport
