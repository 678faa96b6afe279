#include "cli/remote_options.h"

#include "common/units.h"
#include "transport/ssh_connector.h"

namespace pgm::cli {

void add_remote_options(CLI::App& cmd, RemoteCliOptions& o) {
  cmd.add_option("--streams", o.streams, "Data connections (each its own SSH connection)")->check(CLI::Range(1, 64))->capture_default_str();
  cmd.add_option("--remote-bin", o.remote_bin, "pgmigrate on the far host")->capture_default_str();
  cmd.add_option("--port", o.port, "SSH port")->check(CLI::Range(1, 65535))->capture_default_str();
  cmd.add_option("--identity", o.identities, "SSH private key file (repeatable); ssh-agent is tried first");
  cmd.add_option("--known-hosts", o.known_hosts, "known_hosts file (default ~/.ssh/known_hosts)");
  cmd.add_flag("--accept-new-host-key", o.accept_new_host_key, "Trust and record an unknown host key (never a changed one)");
  cmd.add_option("--connect-timeout", o.connect_timeout, "TCP connect and SSH handshake timeout")->capture_default_str();
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

Result<RemoteOptions> make_remote(const RemoteCliOptions& o, const Endpoint& e) {
  RemoteOptions r;
  r.streams = o.streams;
  r.remote_bin = o.remote_bin;
  r.host_label = (e.user.empty() ? "" : e.user + "@") + e.host;
  auto timeout = parse_duration(o.connect_timeout);
  if (!timeout) return timeout.status().context("--connect-timeout");
  if (o.reconnect_timeout == "0") {
    r.reconnect_timeout = std::chrono::milliseconds(0);
  } else {
    auto reconnect = parse_duration(o.reconnect_timeout);
    if (!reconnect) return reconnect.status().context("--reconnect-timeout");
    r.reconnect_timeout = *reconnect;
  }
  r.connect_timeout = *timeout;
  if (o.tls_port >= 0) {
    r.tls_port = o.tls_port;
    r.tls_dial_host = e.host;
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
  target.port = o.port;
  target.user = e.user;
  target.identity_files = o.identities;
  target.known_hosts = o.known_hosts;
  target.accept_new_host_key = o.accept_new_host_key;
  target.connect_timeout = *timeout;
  r.connect = [target](const CancelToken& cancel) { return transport::SshConnector::connect(target, cancel); };
  return r;
}

}  // namespace pgm::cli
