// OpenSSH client configuration (~/.ssh/config, -F FILE, -o KEY=VALUE) for a host, resolved by
// OpenSSH itself: `ssh -G` evaluates Host, Match and Include exactly as ssh would, so we only
// parse its answer instead of reimplementing its grammar.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgmigrate/status.h"

namespace pgm::transport {

// What pgmigrate uses of `ssh -G` output. Paths keep OpenSSH's spelling ("~/..." unexpanded).
struct SshConfig {
  std::string hostname;
  std::string user;
  int port = 22;
  std::vector<std::string> identity_files;
  // False when the list is only OpenSSH's built-in defaults (~/.ssh/id_rsa, ...): `ssh -G`
  // prints those even when none exists and no IdentityFile was configured.
  bool identity_files_configured = false;
  bool identities_only = false;
  std::vector<std::string> user_known_hosts_files;
  // OpenSSH's own default pair (~/.ssh/known_hosts ~/.ssh/known_hosts2).
  bool user_known_hosts_default = true;
  std::string strict_host_key_checking;  // "true", "false", "accept-new", "ask", ...
  std::optional<std::chrono::seconds> connect_timeout;
  std::string proxy_jump;     // empty: none
  std::string proxy_command;  // empty: none
};

// Parses `ssh -G` output: "key value" lines, keys in lower case. Pure.
// Errc::invalid_argument when a value pgmigrate needs is malformed or missing.
Result<SshConfig> parse_ssh_g(std::string_view output, const std::string& home);

// Expands ProxyCommand's %h %p %r %n %% (the tokens OpenSSH allows there that pgmigrate knows).
// Errc::invalid_argument names an unknown token. Pure.
Result<std::string> expand_proxy_command(const std::string& command, const std::string& host, int port, const std::string& user,
                                         const std::string& alias);

// $HOME, else the passwd entry's home directory.
std::string home_directory();

// "~/x" -> home + "/x".
std::string expand_tilde(const std::string& path, const std::string& home);

// ProxyJump "h1,u@h2:23,h3" -> ssh argv that carries a stream to host:port through those hops.
std::vector<std::string> proxy_jump_argv(const std::string& jumps, const std::string& host, int port, const std::string& config_file);

struct SshGRequest {
  std::string host;         // as the user typed it: maybe an alias
  std::string user;         // empty: from the configuration or the local user
  int port = 0;             // 0: from the configuration
  std::string config_file;  // empty: ~/.ssh/config and /etc/ssh/ssh_config
  std::vector<std::string> options;
};
// The argv of `ssh -G` for `request`. Pure.
std::vector<std::string> ssh_g_argv(const SshGRequest& request);

// Runs `ssh -G`. std::nullopt when ssh is not installed (the host is then used as given).
// Errc::invalid_argument "the SSH configuration for HOST cannot be read: ..." when ssh fails.
Result<std::optional<SshConfig>> resolve_ssh_config(const SshGRequest& request, const std::string& home);

}  // namespace pgm::transport
