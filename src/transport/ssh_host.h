// A far host as pgmigrate reaches it over SSH: the host a user named (maybe an alias of the
// OpenSSH configuration), resolved by `ssh -G` (transport/ssh_config.h) into the SshTarget a
// connection needs. Settings given explicitly win over the configuration's.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "pgmigrate/status.h"
#include "transport/ssh/ssh_session.h"

namespace pgm::transport {

// Without an explicit timeout or the configuration's ConnectTimeout.
inline constexpr std::chrono::milliseconds kDefaultSshConnectTimeout{30000};

struct SshHostSpec {
  std::string host;                         // as the user typed it: maybe an alias
  std::string user;                         // empty: the configuration's, else the local user
  int port = 0;                             // 0: the configuration's Port, else 22
  std::vector<std::string> identity_files;  // empty: the configuration's IdentityFile, else the defaults
  std::string known_hosts;                  // empty: the configuration's UserKnownHostsFile, else the default
  bool accept_new_host_key = false;
  // nullopt: the configuration's ConnectTimeout, else kDefaultSshConnectTimeout.
  std::optional<std::chrono::milliseconds> connect_timeout;
  std::string config_file;           // like ssh -F; empty: ~/.ssh/config and /etc/ssh/ssh_config
  std::vector<std::string> options;  // like ssh -o KEY=VALUE
};

struct SshHost {
  SshTarget target;
  // The configuration's HostName for an alias (`db2` means nothing to libpq or DNS), else the
  // host as given.
  std::string network_host;
};

// Runs `ssh -G` for `spec` (the host is used as given when ssh is not installed) and builds the
// target: ProxyJump/ProxyCommand become its proxy_argv. Errc::invalid_argument for a host that
// starts with '-', an unreadable configuration, or StrictHostKeyChecking no (pgmigrate never
// trusts an unverified host key).
Result<SshHost> resolve_ssh_host(const SshHostSpec& spec);

}  // namespace pgm::transport
