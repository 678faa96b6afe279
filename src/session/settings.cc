#include "session/settings.h"

#include <unistd.h>

#include <cctype>
#include <thread>

#include "common/elevation.h"
#include "common/units.h"
#include "objstore/location.h"
#include "transport/elevated_connector.h"
#include "transport/ssh_connector.h"
#include "transport/ssh_host.h"
#include "transport/tls.h"

namespace pgm::session {

namespace {

// --compress: a level, 'auto' (adapts to the link and the CPU), or 'none'.
Status resolve_compress(const std::string& text, TransferParams& t) {
  if (text == "auto") {
    // Adaptive: start fast, let the pipeline move the level to what the link and CPU allow.
    t.level = 1;
    t.adaptive_max_level = 9;
    t.codec = stream::Codec::zstd;
    return Status::Ok();
  }
  if (text == "none" || text == "0") {
    t.level = 0;
    t.codec = stream::Codec::none;
    return Status::Ok();
  }
  char* end = nullptr;
  const long level = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || level < 1 || level > 19)
    return Status(Errc::invalid_argument, "--compress must be a zstd level 1..19, 'auto' or 'none'");
  t.level = static_cast<int>(level);
  t.codec = stream::Codec::zstd;
  return Status::Ok();
}

Status check_sudo_settings(const RemoteSettings& s) {
  if (s.sudo_cmd.find_first_not_of(" \t") == std::string::npos)
    return Status(Errc::invalid_argument, "--sudo-cmd is empty (use --no-sudo)");
  if (s.no_sudo && s.sudo_cmd != "sudo -n")
    return Status(Errc::invalid_argument, "--no-sudo and --sudo-cmd contradict each other: pass one");
  return Status::Ok();
}

// --tls-connect HOST:PORT, with [brackets] around an IPv6 address, into `r`.
Status parse_tls_connect(const std::string& value, Remote& r) {
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

// How each connection to an SSH host is made: directly, or with the far pgmigrate under the
// privilege wrapper when the login user is not root.
void ssh_connect(const transport::SshTarget& target, const RemoteSettings& s, Remote& r) {
  r.login_user = target.user.empty() ? transport::local_user_name() : target.user;
  r.elevation = privilege_wrapper(r.login_user == "root", s.no_sudo, s.sudo_cmd);
  if (r.elevation.empty()) {
    r.connect = [target](const CancelToken& cancel) { return transport::SshConnector::connect(target, cancel); };
    return;
  }
  r.connect = [target, wrapper = r.elevation,
               bin = shell_quote(r.remote_bin)](const CancelToken& cancel) -> Result<std::unique_ptr<transport::Connector>> {
    PGM_ASSIGN_OR_RETURN(auto inner, transport::SshConnector::connect(target, cancel));
    return std::unique_ptr<transport::Connector>(new transport::ElevatedConnector(std::move(inner), wrapper, bin));
  };
}

// TLS lanes come from the host whose SSH connection started us, unless the near side dials
// through NAT or a forward (--tls-connect), which it says with --tls-any-peer.
std::optional<FarTls> far_tls(const FarSettings& s) {
  if (s.tls_port < 0) return std::nullopt;
  return FarTls{s.tls_port, s.tls_any_peer ? std::string() : transport::ssh_client_address()};
}

}  // namespace

Result<TransferParams> resolve_transfer(const TransferSettings& s) {
  TransferParams t;
  auto chunk = parse_size(s.chunk_size);
  if (!chunk) return chunk.status().context("--chunk-size");
  if (*chunk < stream::kMinChunkSize || *chunk > stream::kMaxChunkSize)
    return Status(Errc::invalid_argument, "--chunk-size must be between 64K and 64M");
  t.chunk_size = static_cast<std::uint32_t>(*chunk);
  PGM_RETURN_IF_ERROR(resolve_compress(s.compress, t));
  auto mem = parse_size(s.max_memory);
  if (!mem) return mem.status().context("--max-memory");
  t.max_memory = *mem;
  t.max_chunks = static_cast<std::size_t>(*mem / (2ull * t.chunk_size));
  if (t.max_chunks < 4)
    return Status(Errc::invalid_argument,
                  "--max-memory " + s.max_memory + " is too small for --chunk-size " + s.chunk_size + " (needs at least 8 chunks' worth)");
  if (s.stall_timeout != "0") {
    auto stall = parse_duration(s.stall_timeout);
    if (!stall) return stall.status().context("--stall-timeout");
    t.stall_timeout = *stall;
  }
  auto rate = parse_rate(s.rate);
  if (!rate) return rate.status().context("--rate");
  t.rate = *rate;
  const unsigned cores = std::thread::hardware_concurrency();
  t.workers = s.threads ? s.threads : (cores ? cores : 2);
  if (t.workers > 256) return Status(Errc::invalid_argument, "--threads must be at most 256");
  return t;
}

Status resolve_stream(const StreamSettings& s, source::SourceSpec& source, sink::SinkSpec& sink) {
  source.send_cmd = s.send_cmd;
  if (!s.incremental.empty()) source.flags.incremental = s.incremental;
  if (!s.intermediate.empty()) source.flags.intermediate = s.intermediate;
  source.flags.replicate = s.replicate;
  source.flags.props = s.props;
  sink.recv_cmd = s.recv_cmd;
  sink.flags.force = s.force;
  return zfs::apply_flags(s.zfs, !s.send_cmd.empty(), !s.recv_cmd.empty(), source.flags, sink.flags);
}

Result<std::string> object_store_url(const std::string& text) {
  PGM_ASSIGN_OR_RETURN(auto at, objstore::parse_location(text));
  return at.url();
}

Result<Endpoint> parse_endpoint(const std::string& text) {
  Endpoint e;
  if (text == "-") {
    e.stdio = true;
    return e;
  }
  std::string rest = text;
  // [user@]host:NAME. A bracketed IPv6 address may contain ':'.
  std::size_t at = rest.find('@');
  std::size_t colon = rest.find(':');
  if (at != std::string::npos && (colon == std::string::npos || at < colon)) {
    e.user = rest.substr(0, at);
    rest = rest.substr(at + 1);
  }
  if (!rest.empty() && rest[0] == '[') {
    std::size_t close = rest.find(']');
    if (close == std::string::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
      return Status(Errc::invalid_argument, "invalid endpoint '" + text + "' (expected [user@]host:POOL/FS)");
    e.host = rest.substr(1, close - 1);
    e.name = rest.substr(close + 2);
  } else {
    colon = rest.find(':');
    if (colon == std::string::npos)
      return Status(Errc::invalid_argument, "invalid endpoint '" + text + "' (expected '-' or [user@]host:POOL/FS)");
    e.host = rest.substr(0, colon);
    e.name = rest.substr(colon + 1);
  }
  if (e.host.empty()) return Status(Errc::invalid_argument, "invalid endpoint '" + text + "': empty host");
  for (char c : e.host + e.user) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == ':';
    if (!ok) return Status(Errc::invalid_argument, "invalid host or user in '" + text + "'");
  }
  if (e.name.empty()) return Status(Errc::invalid_argument, "invalid endpoint '" + text + "': no dataset after ':'");
  return e;
}

Result<Remote> resolve_remote(const RemoteSettings& s, const Endpoint& e) {
  Remote r;
  r.streams = s.streams;
  r.remote_bin = s.remote_bin;
  PGM_RETURN_IF_ERROR(check_sudo_settings(s));
  r.host_label = (e.user.empty() ? "" : e.user + "@") + e.host;
  if (s.local_exec && (!s.ssh_config.empty() || !s.ssh_options.empty()))
    return Status(Errc::invalid_argument, "--ssh-config and -o need SSH (not --local-exec)");
  std::optional<std::chrono::milliseconds> timeout;
  if (!s.connect_timeout.empty()) {
    auto parsed = parse_duration(s.connect_timeout);
    if (!parsed) return parsed.status().context("--connect-timeout");
    timeout = *parsed;
  }
  if (s.reconnect_timeout == "0") {
    r.reconnect_timeout = std::chrono::milliseconds(0);
  } else {
    auto reconnect = parse_duration(s.reconnect_timeout);
    if (!reconnect) return reconnect.status().context("--reconnect-timeout");
    r.reconnect_timeout = *reconnect;
  }
  std::optional<transport::SshHost> ssh;
  if (!s.local_exec) {
    PGM_ASSIGN_OR_RETURN(auto resolved, transport::resolve_ssh_host({.host = e.host,
                                                                     .user = e.user,
                                                                     .port = s.port,
                                                                     .identity_files = s.identities,
                                                                     .known_hosts = s.known_hosts,
                                                                     .accept_new_host_key = s.accept_new_host_key,
                                                                     .connect_timeout = timeout,
                                                                     .config_file = s.ssh_config,
                                                                     .options = s.ssh_options}));
    ssh = std::move(resolved);
  }
  r.connect_timeout = ssh ? ssh->target.connect_timeout : timeout.value_or(transport::kDefaultSshConnectTimeout);
  r.network_host = ssh ? ssh->network_host : e.host;
  if (s.tls_port >= 0) {
    r.tls_port = s.tls_port;
    r.tls_dial_host = r.network_host;
    if (!s.tls_connect.empty()) PGM_RETURN_IF_ERROR(parse_tls_connect(s.tls_connect, r));
  } else if (!s.tls_connect.empty()) {
    return Status(Errc::invalid_argument, "--tls-connect needs --tls-port");
  }
  if (s.inject_corrupt_chunk >= 0) r.inject_corrupt_chunk = static_cast<std::uint64_t>(s.inject_corrupt_chunk);
  if (ssh) {
    ssh_connect(ssh->target, s, r);
    return r;
  }
  r.connect = [](const CancelToken&) -> Result<std::unique_ptr<transport::Connector>> {
    return std::unique_ptr<transport::Connector>(new transport::LocalConnector());
  };
  return r;
}

Result<std::string> local_privilege_wrapper(const RemoteSettings& s) {
  PGM_RETURN_IF_ERROR(check_sudo_settings(s));
  return privilege_wrapper(::geteuid() == 0, s.no_sudo, s.sudo_cmd);
}

Status serve_recv_as(const FarSettings& s, CancelToken& cancel) {
  PGM_ASSIGN_OR_RETURN(auto t, resolve_transfer(s.transfer));
  source::SourceSpec unused;
  sink::SinkSpec spec;
  spec.target = s.target;
  PGM_RETURN_IF_ERROR(resolve_stream(s.stream, unused, spec));
  auto wait = parse_duration(s.wait_for_sender);
  if (!wait) return wait.status().context("--reconnect-timeout");
  return serve_recv(spec, t, *wait, far_tls(s), cancel);
}

Status serve_send_as(const FarSettings& s, CancelToken& cancel) {
  PGM_ASSIGN_OR_RETURN(auto t, resolve_transfer(s.transfer));
  source::SourceSpec spec;
  spec.snapshot = s.snapshot;
  spec.resume_token = s.resume_token;
  sink::SinkSpec unused;
  PGM_RETURN_IF_ERROR(resolve_stream(s.stream, spec, unused));
  return serve_send(spec, t, far_tls(s), cancel);
}

}  // namespace pgm::session
