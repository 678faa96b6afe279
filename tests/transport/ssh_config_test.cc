// parse_ssh_g on output captured from OpenSSH 9.2's `ssh -G`, and ProxyCommand/ProxyJump helpers.
#include "transport/ssh_config.h"

#include <gtest/gtest.h>

namespace pgm::transport {
namespace {

// `ssh -G -F cfg db2` (trimmed of keys pgmigrate ignores, plus a few it must skip).
constexpr const char* kConfigured = R"(host db2
user bob
hostname 127.0.0.1
port 2222
addressfamily any
identitiesonly yes
stricthostkeychecking false
identityfile ~/k1
identityfile /tmp/k2
userknownhostsfile /tmp/kh1 /root/kh2
connecttimeout 7
proxyjump bastion
sendenv LC_*
)";

// `ssh -G somehost` with no configuration: OpenSSH's defaults.
constexpr const char* kDefaults = R"(host somehost
hostname somehost
identitiesonly no
identityfile ~/.ssh/id_rsa
identityfile ~/.ssh/id_ecdsa
identityfile ~/.ssh/id_ecdsa_sk
identityfile ~/.ssh/id_ed25519
identityfile ~/.ssh/id_ed25519_sk
identityfile ~/.ssh/id_xmss
identityfile ~/.ssh/id_dsa
port 22
stricthostkeychecking ask
connecttimeout none
user root
userknownhostsfile /root/.ssh/known_hosts /root/.ssh/known_hosts2
)";

TEST(ParseSshG, ConfiguredHost) {
  auto c = parse_ssh_g(kConfigured, "/root");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->hostname, "127.0.0.1");
  EXPECT_EQ(c->user, "bob");
  EXPECT_EQ(c->port, 2222);
  EXPECT_TRUE(c->identity_files_configured);
  EXPECT_EQ(c->identity_files, (std::vector<std::string>{"/root/k1", "/tmp/k2"}));
  EXPECT_TRUE(c->identities_only);
  EXPECT_FALSE(c->user_known_hosts_default);
  EXPECT_EQ(c->user_known_hosts_files, (std::vector<std::string>{"/tmp/kh1", "/root/kh2"}));
  EXPECT_EQ(c->strict_host_key_checking, "false");
  ASSERT_TRUE(c->connect_timeout.has_value());
  EXPECT_EQ(c->connect_timeout->count(), 7);
  EXPECT_EQ(c->proxy_jump, "bastion");
  EXPECT_EQ(c->proxy_command, "");
}

TEST(ParseSshG, DefaultsMeanNothingConfigured) {
  auto c = parse_ssh_g(kDefaults, "/root");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->hostname, "somehost");
  EXPECT_EQ(c->port, 22);
  EXPECT_FALSE(c->identity_files_configured);
  EXPECT_TRUE(c->identity_files.empty());
  EXPECT_FALSE(c->identities_only);
  EXPECT_TRUE(c->user_known_hosts_default);
  EXPECT_EQ(c->strict_host_key_checking, "ask");
  EXPECT_FALSE(c->connect_timeout.has_value());
  EXPECT_EQ(c->proxy_jump, "");
}

TEST(ParseSshG, ProxyCommandAndCrLf) {
  auto c = parse_ssh_g("hostname h\r\nport 22\r\nproxycommand nc %h %p\r\nproxyjump none\r\n", "/home/u");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->proxy_command, "nc %h %p");
  EXPECT_EQ(c->proxy_jump, "");
}

TEST(ParseSshG, RefusesGarbage) {
  EXPECT_FALSE(parse_ssh_g("", "/root").ok());
  EXPECT_FALSE(parse_ssh_g("hostname h\nport 99999\n", "/root").ok());
  EXPECT_FALSE(parse_ssh_g("hostname h\nport x\n", "/root").ok());
  EXPECT_FALSE(parse_ssh_g("hostname h\nport 22\nconnecttimeout soon\n", "/root").ok());
}

TEST(ProxyCommand, ExpandsTokens) {
  auto s = expand_proxy_command("nc -X 5 -x proxy:1080 %h %p # %r %n 100%%", "10.0.0.5", 2222, "bob", "db2");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, "nc -X 5 -x proxy:1080 10.0.0.5 2222 # bob db2 100%");
  EXPECT_FALSE(expand_proxy_command("nc %h %q", "h", 22, "u", "a").ok());
  EXPECT_FALSE(expand_proxy_command("nc %", "h", 22, "u", "a").ok());
}

TEST(ProxyJump, Argv) {
  EXPECT_EQ(proxy_jump_argv("bastion", "127.0.0.1", 2222, ""),
            (std::vector<std::string>{"ssh", "-o", "BatchMode=yes", "-W", "127.0.0.1:2222", "--", "bastion"}));
  EXPECT_EQ(proxy_jump_argv("u@h1:23,h2,h3", "::1", 22, "/c"),
            (std::vector<std::string>{"ssh", "-F", "/c", "-o", "BatchMode=yes", "-W", "[::1]:22", "-J", "u@h1:23,h2", "--", "h3"}));
}

TEST(SshG, Argv) {
  SshGRequest r{"db2", "bob", 0, "/c", {"Port=1"}};
  EXPECT_EQ(ssh_g_argv(r), (std::vector<std::string>{"ssh", "-G", "-T", "-F", "/c", "-o", "Port=1", "-l", "bob", "--", "db2"}));
  r = SshGRequest{"h", "", 2200, "", {}};
  EXPECT_EQ(ssh_g_argv(r), (std::vector<std::string>{"ssh", "-G", "-T", "-p", "2200", "--", "h"}));
}

}  // namespace
}  // namespace pgm::transport
