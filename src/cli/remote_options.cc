#include "cli/remote_options.h"

#include <unistd.h>

#include "common/elevation.h"
#include "common/units.h"
#include "transport/elevated_connector.h"
#include "transport/ssh_config.h"
#include "transport/ssh_connector.h"

namespace pgm::cli {

void add_remote_options(CLI::App& cmd, RemoteCliOptions& o) {
  cmd.add_option("--streams", o.streams, "Data connections (each its own SSH connection)")->check(CLI::Range(1, 64))->capture_default_str();
  cmd.add_option("--remote-bin", o.remote_bin, "pgmigrate on the far host")->capture_default_str();
  cmd.add_option("--sudo-cmd", o.sudo_cmd,
                 "When the SSH login user is not root, run the far pgmigrate through this command (doas, a wrapper); when "
                 "pgmigrate runs here as a normal user, its zfs commands too")
      ->capture_default_str();
  cmd.add_flag("--no-sudo", o.no_sudo,
               "Run the far pgmigrate as the login user, and zfs here as this user, even if not root (ZFS delegated with `zfs allow`)");
  cmd.add_option("--port", o.port, "SSH port (default: the SSH configuration's, else 22)")->check(CLI::Range(1, 65535));
  cmd.add_option("--identity", o.identities, "SSH private key file (repeatable); ssh-agent is tried first");
  cmd.add_option("--known-hosts", o.known_hosts, "known_hosts file (default: the SSH configuration's, else ~/.ssh/known_hosts)");
  cmd.add_flag("--accept-new-host-key", o.accept_new_host_key, "Trust and record an unknown host key (never a changed one)");
  cmd.add_option("--connect-timeout", o.connect_timeout,
                 "TCP connect and SSH handshake timeout (default: the SSH configuration's ConnectTimeout, else 30s)");
  cmd.add_option("--ssh-config", o.ssh_config, "OpenSSH client configuration file instead of ~/.ssh/config (like ssh -F)");
  cmd.add_option("-o", o.ssh_options, "OpenSSH option KEY=VALUE for resolving the host (repeatable, like ssh -o)");
  cmd.add_option("--reconnect-timeout", o.reconnect_timeout, "Keep reconnecting a dropped data connection this long (0: fail at once)")
      ->capture_default_str();
  cmd.add_option("--tls-port", o.tls_port,
                 "Carry the data on direct TLS 1.3 connections to this TCP port of the far host instead of SSH channels "
                 "(0: a free port; it must be reachable). Keyed per transfer over the SSH connection")
      ->check(CLI::Range(0, 65535));
  cmd.add_option("--tls-connect", o.tls_connect, "With --tls-port: dial HOST:PORT for the TLS data connections (NAT, port forwards)");
  cmd.add_flag("--local-exec", o.local_exec, "Testing aid: run the far half on this host without SSH")->group("");
  cmd.add_option("--inject-corrupt-chunk", o.inject_corrupt_chunk, "Testing aid: corrupt chunk N once after checksumming (push)")
      ->group("");
}

namespace {

bool file_exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

Status check_sudo_options(const RemoteCliOptions& o) {
  if (o.sudo_cmd.find_first_not_of(" \t") == std::string::npos)
    return Status(Errc::invalid_argument, "--sudo-cmd is empty (use --no-sudo)");
  if (o.no_sudo && o.sudo_cmd != "sudo -n")
    return Status(Errc::invalid_argument, "--no-sudo and --sudo-cmd contradict each other: pass one");
  return Status::Ok();
}

// What `ssh -G` resolved, under the flags given explicitly on the command line.
Status apply_ssh_config(const transport::SshConfig& c, const RemoteCliOptions& o, const std::string& alias, transport::SshTarget& t) {
  t.host = c.hostname;
  if (o.port == 0) t.port = c.port;
  if (!c.user.empty()) t.user = c.user;
  // Files the configuration named are kept even when missing: authentication then says so.
  if (o.identities.empty() && c.identity_files_configured) t.identity_files = c.identity_files;
  // IdentitiesOnly: the agent's keys would be offered before the configured ones.
  if (c.identities_only) t.use_agent = false;
  if (o.known_hosts.empty() && !c.user_known_hosts_default && !c.user_known_hosts_files.empty()) {
    t.known_hosts = c.user_known_hosts_files.front();
    for (const auto& f : c.user_known_hosts_files)
      if (file_exists(f)) {
        t.known_hosts = f;
        break;
      }
  }
  if (c.strict_host_key_checking == "accept-new") t.accept_new_host_key = true;
  if (!c.proxy_jump.empty()) {
    t.proxy_argv = transport::proxy_jump_argv(c.proxy_jump, t.host, t.port, o.ssh_config);
  } else if (!c.proxy_command.empty()) {
    auto cmd = transport::expand_proxy_command(c.proxy_command, t.host, t.port, t.user, alias);
    if (!cmd) return cmd.status();
    t.proxy_argv = {"/bin/sh", "-c", *cmd};
  }
  return Status::Ok();
}

}  // namespace

Result<RemoteOptions> make_remote(const RemoteCliOptions& o, const Endpoint& e) {
  RemoteOptions r;
  r.streams = o.streams;
  r.remote_bin = o.remote_bin;
  PGM_RETURN_IF_ERROR(check_sudo_options(o));
  r.host_label = (e.user.empty() ? "" : e.user + "@") + e.host;
  // The host may be an alias of the OpenSSH configuration: resolved by `ssh -G` itself.
  std::optional<transport::SshConfig> config;
  if (!o.local_exec) {
    if (e.host.starts_with("-")) return Status(Errc::invalid_argument, "invalid host '" + e.host + "'");
    transport::SshGRequest request{e.host, e.user, o.port, o.ssh_config, o.ssh_options};
    auto resolved = transport::resolve_ssh_config(request, transport::home_directory());
    if (!resolved) return resolved.status();
    config = std::move(*resolved);
  } else if (!o.ssh_config.empty() || !o.ssh_options.empty()) {
    return Status(Errc::invalid_argument, "--ssh-config and -o need SSH (not --local-exec)");
  }
  if (config && (config->strict_host_key_checking == "false" || config->strict_host_key_checking == "no" ||
                 config->strict_host_key_checking == "off"))
    return Status(Errc::invalid_argument, "StrictHostKeyChecking no in the SSH configuration for " + e.host +
                                              ": pgmigrate never trusts an unverified host key; use accept-new or --accept-new-host-key");
  Result<std::chrono::milliseconds> timeout = std::chrono::milliseconds(30000);
  if (!o.connect_timeout.empty()) {
    timeout = parse_duration(o.connect_timeout);
    if (!timeout) return timeout.status().context("--connect-timeout");
  } else if (config && config->connect_timeout) {
    timeout = std::chrono::milliseconds(*config->connect_timeout);
  }
  if (o.reconnect_timeout == "0") {
    r.reconnect_timeout = std::chrono::milliseconds(0);
  } else {
    auto reconnect = parse_duration(o.reconnect_timeout);
    if (!reconnect) return reconnect.status().context("--reconnect-timeout");
    r.reconnect_timeout = *reconnect;
  }
  r.connect_timeout = *timeout;
  r.network_host = config ? config->hostname : e.host;
  if (o.tls_port >= 0) {
    r.tls_port = o.tls_port;
    r.tls_dial_host = r.network_host;
    if (!o.tls_connect.empty()) {
      // HOST:PORT, with [brackets] around an IPv6 address.
      const auto colon = o.tls_connect.rfind(':');
      std::string host = colon == std::string::npos ? "" : o.tls_connect.substr(0, colon);
      if (host.size() > 1 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
      int port = 0;
      try {
        port = colon == std::string::npos ? 0 : std::stoi(o.tls_connect.substr(colon + 1));
      } catch (const std::exception&) {
        port = 0;
      }
      if (host.empty() || port < 1 || port > 65535)
        return Status(Errc::invalid_argument, "--tls-connect '" + o.tls_connect + "': expected HOST:PORT");
      r.tls_dial_host = host;
      r.tls_dial_port = port;
    }
  } else if (!o.tls_connect.empty()) {
    return Status(Errc::invalid_argument, "--tls-connect needs --tls-port");
  }
  if (o.inject_corrupt_chunk >= 0) r.inject_corrupt_chunk = static_cast<std::uint64_t>(o.inject_corrupt_chunk);
  if (o.local_exec) {
    r.connect = [](const CancelToken&) -> Result<std::unique_ptr<transport::Connector>> {
      return std::unique_ptr<transport::Connector>(new transport::LocalConnector());
    };
    return r;
  }
  transport::SshTarget target;
  target.host = e.host;
  target.port = o.port > 0 ? o.port : 22;
  target.user = e.user;
  target.identity_files = o.identities;
  target.known_hosts = o.known_hosts;
  target.accept_new_host_key = o.accept_new_host_key;
  target.connect_timeout = *timeout;
  if (config) PGM_RETURN_IF_ERROR(apply_ssh_config(*config, o, e.host, target));
  r.login_user = target.user.empty() ? transport::local_user_name() : target.user;
  r.elevation = privilege_wrapper(r.login_user == "root", o.no_sudo, o.sudo_cmd);
  if (r.elevation.empty()) {
    r.connect = [target](const CancelToken& cancel) { return transport::SshConnector::connect(target, cancel); };
    return r;
  }
  r.connect = [target, wrapper = r.elevation,
               bin = shell_quote(r.remote_bin)](const CancelToken& cancel) -> Result<std::unique_ptr<transport::Connector>> {
    auto inner = transport::SshConnector::connect(target, cancel);
    if (!inner) return inner.status();
    return std::unique_ptr<transport::Connector>(new transport::ElevatedConnector(std::move(*inner), wrapper, bin));
  };
  return r;
}

Result<std::string> local_privilege_wrapper(const RemoteCliOptions& o) {
  PGM_RETURN_IF_ERROR(check_sudo_options(o));
  return privilege_wrapper(::geteuid() == 0, o.no_sudo, o.sudo_cmd);
}

}  // namespace pgm::cli
