#include "transport/ssh_host.h"

#include <unistd.h>

#include "transport/ssh_config.h"

namespace pgm::transport {

namespace {

bool file_exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// What `ssh -G` resolved, under the settings given explicitly.
Status apply_ssh_config(const SshConfig& c, const SshHostSpec& spec, SshTarget& t) {
  t.host = c.hostname;
  if (spec.port == 0) t.port = c.port;
  if (!c.user.empty()) t.user = c.user;
  // Files the configuration named are kept even when missing: authentication then says so.
  if (spec.identity_files.empty() && c.identity_files_configured) t.identity_files = c.identity_files;
  // IdentitiesOnly: the agent's keys would be offered before the configured ones.
  if (c.identities_only) t.use_agent = false;
  if (spec.known_hosts.empty() && !c.user_known_hosts_default && !c.user_known_hosts_files.empty()) {
    t.known_hosts = c.user_known_hosts_files.front();
    for (const auto& f : c.user_known_hosts_files)
      if (file_exists(f)) {
        t.known_hosts = f;
        break;
      }
  }
  if (c.strict_host_key_checking == "accept-new") t.accept_new_host_key = true;
  if (!c.proxy_jump.empty()) {
    t.proxy_argv = proxy_jump_argv(c.proxy_jump, t.host, t.port, spec.config_file);
  } else if (!c.proxy_command.empty()) {
    auto cmd = expand_proxy_command(c.proxy_command, t.host, t.port, t.user, spec.host);
    if (!cmd) return cmd.status();
    t.proxy_argv = {"/bin/sh", "-c", *cmd};
  }
  return Status::Ok();
}

}  // namespace

Result<SshHost> resolve_ssh_host(const SshHostSpec& spec) {
  if (spec.host.starts_with("-")) return Status(Errc::invalid_argument, "invalid host '" + spec.host + "'");
  SshGRequest request{spec.host, spec.user, spec.port, spec.config_file, spec.options};
  auto resolved = resolve_ssh_config(request, home_directory());
  if (!resolved) return resolved.status();
  const std::optional<SshConfig>& config = *resolved;
  if (config && (config->strict_host_key_checking == "false" || config->strict_host_key_checking == "no" ||
                 config->strict_host_key_checking == "off"))
    return Status(Errc::invalid_argument, "StrictHostKeyChecking no in the SSH configuration for " + spec.host +
                                              ": pgmigrate never trusts an unverified host key; use accept-new or --accept-new-host-key");
  SshHost h;
  SshTarget& target = h.target;
  target.host = spec.host;
  target.port = spec.port > 0 ? spec.port : 22;
  target.user = spec.user;
  target.identity_files = spec.identity_files;
  target.known_hosts = spec.known_hosts;
  target.accept_new_host_key = spec.accept_new_host_key;
  target.connect_timeout = kDefaultSshConnectTimeout;
  if (spec.connect_timeout) {
    target.connect_timeout = *spec.connect_timeout;
  } else if (config && config->connect_timeout) {
    target.connect_timeout = std::chrono::milliseconds(*config->connect_timeout);
  }
  h.network_host = config ? config->hostname : spec.host;
  if (config) PGM_RETURN_IF_ERROR(apply_ssh_config(*config, spec, target));
  return h;
}

}  // namespace pgm::transport
