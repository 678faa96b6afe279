#include "cli/remote_options.h"

#include <unistd.h>

#include "common/elevation.h"
#include "common/units.h"
#include "transport/elevated_connector.h"
#include "transport/ssh_connector.h"
#include "transport/ssh_host.h"

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

Status check_sudo_options(const RemoteCliOptions& o) {
  if (o.sudo_cmd.find_first_not_of(" \t") == std::string::npos)
    return Status(Errc::invalid_argument, "--sudo-cmd is empty (use --no-sudo)");
  if (o.no_sudo && o.sudo_cmd != "sudo -n")
    return Status(Errc::invalid_argument, "--no-sudo and --sudo-cmd contradict each other: pass one");
  return Status::Ok();
}

// --tls-connect HOST:PORT, with [brackets] around an IPv6 address, into `r`.
Status parse_tls_connect(const std::string& value, RemoteOptions& r) {
  const auto colon = value.rfind(':');
  std::string host = colon == std::string::npos ? "" : value.substr(0, colon);
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = 0;
  try {
    port = colon == std::string::npos ? 0 : std::stoi(value.substr(colon + 1));
  } catch (const std::exception&) {
    port = 0;
  }
  if (host.empty() || port < 1 || port > 65535) return Status(Errc::invalid_argument, "--tls-connect '" + value + "': expected HOST:PORT");
  r.tls_dial_host = host;
  r.tls_dial_port = port;
  return Status::Ok();
}

}  // namespace

Result<RemoteOptions> make_remote(const RemoteCliOptions& o, const Endpoint& e) {
  RemoteOptions r;
  r.streams = o.streams;
  r.remote_bin = o.remote_bin;
  PGM_RETURN_IF_ERROR(check_sudo_options(o));
  r.host_label = (e.user.empty() ? "" : e.user + "@") + e.host;
  if (o.local_exec && (!o.ssh_config.empty() || !o.ssh_options.empty()))
    return Status(Errc::invalid_argument, "--ssh-config and -o need SSH (not --local-exec)");
  std::optional<std::chrono::milliseconds> timeout;
  if (!o.connect_timeout.empty()) {
    auto parsed = parse_duration(o.connect_timeout);
    if (!parsed) return parsed.status().context("--connect-timeout");
    timeout = *parsed;
  }
  if (o.reconnect_timeout == "0") {
    r.reconnect_timeout = std::chrono::milliseconds(0);
  } else {
    auto reconnect = parse_duration(o.reconnect_timeout);
    if (!reconnect) return reconnect.status().context("--reconnect-timeout");
    r.reconnect_timeout = *reconnect;
  }
  // The host may be an alias of the OpenSSH configuration: resolved by `ssh -G` itself.
  std::optional<transport::SshHost> ssh;
  if (!o.local_exec) {
    auto resolved = transport::resolve_ssh_host({.host = e.host,
                                                 .user = e.user,
                                                 .port = o.port,
                                                 .identity_files = o.identities,
                                                 .known_hosts = o.known_hosts,
                                                 .accept_new_host_key = o.accept_new_host_key,
                                                 .connect_timeout = timeout,
                                                 .config_file = o.ssh_config,
                                                 .options = o.ssh_options});
    if (!resolved) return resolved.status();
    ssh = std::move(*resolved);
  }
  r.connect_timeout = ssh ? ssh->target.connect_timeout : timeout.value_or(transport::kDefaultSshConnectTimeout);
  r.network_host = ssh ? ssh->network_host : e.host;
  if (o.tls_port >= 0) {
    r.tls_port = o.tls_port;
    r.tls_dial_host = r.network_host;
    if (!o.tls_connect.empty()) PGM_RETURN_IF_ERROR(parse_tls_connect(o.tls_connect, r));
  } else if (!o.tls_connect.empty()) {
    return Status(Errc::invalid_argument, "--tls-connect needs --tls-port");
  }
  if (o.inject_corrupt_chunk >= 0) r.inject_corrupt_chunk = static_cast<std::uint64_t>(o.inject_corrupt_chunk);
  if (!ssh) {
    r.connect = [](const CancelToken&) -> Result<std::unique_ptr<transport::Connector>> {
      return std::unique_ptr<transport::Connector>(new transport::LocalConnector());
    };
    return r;
  }
  const transport::SshTarget target = ssh->target;
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
