#include "transport/ssh/ssh_session.h"

#include <libssh2.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "common/errno_text.h"
#include "common/process.h"
#include "transport/proxy_connect.h"
#include "transport/ssh/known_hosts.h"
#include "transport/ssh/ssh_channel.h"
#include "transport/tcp_connect.h"

namespace pgm::transport {
namespace {

using Clock = std::chrono::steady_clock;

// libssh2_init() is not thread-safe and must precede the first session. A function-local static
// runs it once, race-free; libssh2_exit() is never called: the process exit reclaims it.
Status init_libssh2() {
  static const int rc = libssh2_init(0);
  if (rc != 0) return Status(Errc::internal, "libssh2_init failed: " + std::to_string(rc));
  return Status::Ok();
}

// Fastest first with OpenSSL and AES-NI (libssh2 1.10 has no GCM or chacha20), and every
// one of them on by default in OpenSSH 9.2's sshd.
constexpr const char* kCiphers = "aes128-ctr,aes256-ctr,aes192-ctr";
constexpr const char* kMacs = "hmac-sha2-256,hmac-sha2-512,hmac-sha1";
// OpenSSH's own order among what libssh2 1.10 supports (it has no rsa-sha2-* host keys).
constexpr const char* kHostKeyAlgorithms[] = {"ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
                                              "ssh-rsa"};

// The passwd entry of the effective user, read with the re-entrant call: sessions connect from
// several threads at once.
struct PasswdEntry {
  std::string name, home;
};
PasswdEntry passwd_entry() {
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (::getpwuid_r(::geteuid(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) return {};
  return {pw.pw_name ? pw.pw_name : "", pw.pw_dir ? pw.pw_dir : ""};
}

// getenv races only with setenv, and nothing sets the environment once transfers run.
const char* env(const char* name) {
  return std::getenv(name);  // NOLINT(concurrency-mt-unsafe): see above
}

std::string home_dir() {
  if (const char* h = env("HOME"); h && *h) return h;
  std::string home = passwd_entry().home;
  return home.empty() ? "/" : home;
}

std::string local_user() {
  std::string name = passwd_entry().name;
  if (!name.empty()) return name;
  if (const char* u = env("USER"); u && *u) return u;
  return "root";
}

// "~/.ssh/id_ed25519" rather than the full path, for messages.
std::string tilde(const std::string& path) {
  const std::string home = home_dir();
  if (home.size() > 1 && path.starts_with(home + "/")) return "~" + path.substr(home.size());
  return path;
}

bool file_exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// Host key algorithms to ask for: those the user already trusts for this host first, so that a
// server with several keys shows the one in known_hosts, as OpenSSH does.
std::string hostkey_preference(const std::vector<std::string>& files, const std::string& name) {
  std::vector<std::string> order;
  for (const auto& type : known_key_types(files, name))
    if (std::find(std::begin(kHostKeyAlgorithms), std::end(kHostKeyAlgorithms), type) != std::end(kHostKeyAlgorithms))
      order.push_back(type);
  for (const char* type : kHostKeyAlgorithms)
    if (std::find(order.begin(), order.end(), type) == order.end()) order.emplace_back(type);
  std::string out;
  for (const auto& t : order) out += (out.empty() ? "" : ",") + t;
  return out;
}

}  // namespace

std::string local_user_name() { return local_user(); }

SshSession::SshSession(LIBSSH2_SESSION* session, UniqueFd sock, const CancelToken& cancel, std::string where)
    : session_(session), sock_(std::move(sock)), cancel_(cancel), where_(std::move(where)) {}

SshSession::~SshSession() {
  assert(live_channels_ == 0 && "destroy every SshChannel before its SshSession");
  if (broken_.ok() && !cancel_.cancelled()) {
    // A polite goodbye, but never a long wait for it.
    auto deadline = Clock::now() + std::chrono::seconds(1);
    for (;;) {
      int rc = libssh2_session_disconnect(session_, "pgmigrate done");
      if (rc != LIBSSH2_ERROR_EAGAIN || !wait_socket(deadline).ok()) break;
    }
  }
  // With the socket shut down every pending libssh2 send or read fails at once, so freeing
  // cannot wait on a silent peer.
  ::shutdown(sock_.get(), SHUT_RDWR);
  for (int i = 0; i < 100 && libssh2_session_free(session_) == LIBSSH2_ERROR_EAGAIN; ++i) {
  }
}

Result<std::unique_ptr<SshSession>> SshSession::connect(const SshTarget& target, const CancelToken& cancel) {
  PGM_RETURN_IF_ERROR(init_libssh2());
  if (target.host.empty()) return Status(Errc::invalid_argument, "ssh: empty host name");
  if (target.port < 1 || target.port > 65535) return Status(Errc::invalid_argument, "ssh: invalid port " + std::to_string(target.port));
  const auto deadline = target.connect_timeout.count() > 0 ? Clock::now() + target.connect_timeout : Clock::time_point::max();
  const std::string user = target.user.empty() ? local_user() : target.user;

  UniqueFd sock;
  std::unique_ptr<Subprocess> proxy;
  if (target.proxy_argv.empty()) {
    auto tcp = tcp_connect(target.host, target.port, deadline, cancel, target.tcp_congestion);
    if (!tcp) return tcp.status();
    sock = std::move(*tcp);
  } else {
    auto via = proxy_connect(target.proxy_argv);
    if (!via) return via.status();
    sock = std::move(via->sock);
    proxy = std::move(via->process);
  }

  LIBSSH2_SESSION* raw = libssh2_session_init();
  if (!raw) return Status(Errc::internal, "libssh2_session_init failed");
  std::unique_ptr<SshSession> session(new SshSession(raw, std::move(sock), cancel, host_port(target.host, target.port)));
  session->proxy_ = std::move(proxy);
  libssh2_session_set_blocking(raw, 0);

  std::vector<std::string> known_hosts_files;
  if (target.known_hosts.empty()) {
    known_hosts_files = {home_dir() + "/.ssh/known_hosts", "/etc/ssh/ssh_known_hosts"};
  } else {
    known_hosts_files = {target.known_hosts};
  }
  // zstd already ran: SSH compression would only burn CPU.
  libssh2_session_flag(raw, LIBSSH2_FLAG_COMPRESS, 0);
  const std::string hostkeys = hostkey_preference(known_hosts_files, known_hosts_name(target.host, target.port));
  const std::pair<int, const char*> prefs[] = {
      {LIBSSH2_METHOD_HOSTKEY, hostkeys.c_str()},
      {LIBSSH2_METHOD_CRYPT_CS, kCiphers},
      {LIBSSH2_METHOD_CRYPT_SC, kCiphers},
      {LIBSSH2_METHOD_MAC_CS, kMacs},
      {LIBSSH2_METHOD_MAC_SC, kMacs},
      {LIBSSH2_METHOD_COMP_CS, "none"},
      {LIBSSH2_METHOD_COMP_SC, "none"},
  };
  for (const auto& [type, list] : prefs)
    if (libssh2_session_method_pref(raw, type, list) != 0)
      return Status(Errc::internal, "ssh: setting algorithm preferences: " + session->last_error());

  // connect_timeout is about reaching the host: report it as a network error.
  auto in_time = [&](Status s) {
    if (!s.ok() && session->proxy_) {
      // A proxy that could not reach the server (or the bastion) says why on its stderr; its
      // exit, not the handshake libssh2 saw cut short, is then the error.
      session->proxy_->terminate(1000);
      const int status = session->proxy_->wait();
      std::string said = session->proxy_->stderr_text();
      said = said.substr(0, said.find('\n'));
      const bool stopped_by_us = WIFSIGNALED(status) && (WTERMSIG(status) == SIGTERM || WTERMSIG(status) == SIGKILL);
      if (!stopped_by_us && s.code() != Errc::timeout)
        return Status(Errc::network, "connecting to " + session->where_ + " through the proxy '" + session->proxy_->name() + "': it " +
                                         describe_wait_status(status) + (said.empty() ? "" : ": " + said));
      if (!said.empty()) s = Status(s.code(), s.message() + " (the proxy '" + session->proxy_->name() + "' said: " + said + ")");
    }
    if (s.code() != Errc::timeout) return s;
    char secs[32];
    std::snprintf(secs, sizeof secs, "%g", static_cast<double>(target.connect_timeout.count()) / 1000.0);
    return session->fail(Status(Errc::network, "connecting to " + session->where_ + ": no answer within " + secs + " s"));
  };
  PGM_RETURN_IF_ERROR(in_time(session->handshake(deadline)));
  PGM_RETURN_IF_ERROR(session->verify_host_key(target, known_hosts_files));
  PGM_RETURN_IF_ERROR(in_time(session->authenticate(target, user, deadline)));
  return session;
}

Status SshSession::handshake(Clock::time_point deadline) {
  for (;;) {
    int rc = libssh2_session_handshake(session_, sock_.get());
    if (rc == 0) return Status::Ok();
    if (rc != LIBSSH2_ERROR_EAGAIN) {
      if (rc == LIBSSH2_ERROR_SOCKET_DISCONNECT || rc == LIBSSH2_ERROR_BANNER_RECV || rc == LIBSSH2_ERROR_SOCKET_RECV)
        // sshd drops connections beyond MaxStartups (10 unauthenticated by default) this way.
        return fail(Status(Errc::network, "connection to " + where_ +
                                              " closed during the SSH handshake (not an SSH server, or sshd "
                                              "dropped it: too many connections at once?): " +
                                              last_error()));
      return fail(Status(Errc::network, "SSH handshake with " + where_ + " failed: " + last_error()));
    }
    PGM_RETURN_IF_ERROR(wait_socket(deadline));
  }
}

Status SshSession::verify_host_key(const SshTarget& target, const std::vector<std::string>& files) {
  std::size_t len = 0;
  int type = 0;
  const char* key = libssh2_session_hostkey(session_, &len, &type);
  if (!key || len == 0) return fail(Status(Errc::host_key, "no host key from " + where_));
  std::span<const std::uint8_t> blob(reinterpret_cast<const std::uint8_t*>(key), len);
  fingerprint_ = sha256_fingerprint(blob);
  const std::string key_type = key_blob_type(blob);
  const std::string name = known_hosts_name(target.host, target.port);
  const std::string& file = files.front();  // where new keys go

  // A refusal names the line that knows the host, so the user can inspect or remove it.
  auto refuse = [&](const KnownHostCheck& c) -> Status {
    const std::string where = c.line > 0 ? tilde(c.file) + ":" + std::to_string(c.line) : tilde(file);
    const std::string known = c.result == HostKeyCheck::other_type ? "the " + c.known_type + " key in " + where : where;
    return fail(Status(Errc::host_key, "HOST KEY CHANGED for " + where_ + ": it now presents " + key_type + " key " + fingerprint_ +
                                           ", which does not match " + known +
                                           " (someone may be intercepting the connection; if the change is expected, remove the "
                                           "old key with: ssh-keygen -R '" +
                                           name + "' -f " + tilde(c.line > 0 ? c.file : file) + ")"));
  };
  // What a lookup decides; nullopt: the host is unknown.
  auto verdict = [&](const auto& c) -> std::optional<Status> {
    switch (c.result) {
      case HostKeyCheck::match: return Status::Ok();
      // A host known by another key type is not new: a man in the middle could otherwise offer
      // only a type the user never recorded and be trusted on first use.
      case HostKeyCheck::mismatch:
      case HostKeyCheck::other_type: return refuse(c);
      case HostKeyCheck::revoked:
        return fail(Status(Errc::host_key,
                           "the host key of " + where_ + " (" + key_type + " " + fingerprint_ + ") is marked @revoked in known_hosts"));
      case HostKeyCheck::not_found: break;
    }
    return std::nullopt;
  };
  auto check = check_known_host(session_, files, name, blob);
  if (!check) return fail(check.status().context("checking the host key of " + where_));
  if (auto v = verdict(*check)) return *v;
  if (!target.accept_new_host_key) {
    const std::string port = target.port == 22 ? "" : "-p " + std::to_string(target.port) + " ";
    return fail(Status(Errc::host_key, "unknown host key for " + where_ + ": " + key_type + " " + fingerprint_ + " is not in " +
                                           tilde(file) +
                                           "; if that fingerprint is right, rerun with --accept-new-host-key or add it with: "
                                           "ssh-keyscan " +
                                           port + "-t " + key_type + " " + target.host + " >> " + tilde(file)));
  }
  // The control connection and the data lanes connect in parallel: only the first to take the
  // lock records the key, the others verify against what it recorded.
  auto recorded = check_and_record_known_host(session_, files, name, blob);
  if (!recorded) return fail(recorded.status().context("adding the host key of " + where_));
  if (auto v = verdict(*recorded)) return *v;  // another connection recorded it first
  host_key_added_ = recorded->added;
  return Status::Ok();
}

Status SshSession::authenticate(const SshTarget& target, const std::string& user, Clock::time_point deadline) {
  const std::string who = user + "@" + where_;
  const auto ulen = static_cast<unsigned int>(user.size());

  const char* methods = nullptr;
  for (;;) {
    methods = libssh2_userauth_list(session_, user.c_str(), ulen);
    if (methods) break;
    if (libssh2_userauth_authenticated(session_)) return Status::Ok();  // "none" was accepted
    if (libssh2_session_last_errno(session_) != LIBSSH2_ERROR_EAGAIN)
      return fail(Status(Errc::network, "asking " + where_ + " for its authentication methods: " + last_error()));
    PGM_RETURN_IF_ERROR(wait_socket(deadline));
  }
  if (!std::strstr(methods, "publickey"))
    return fail(Status(Errc::auth, "authentication failed for " + who + ": the server offers only " + methods +
                                       ", and pgmigrate uses public keys (ssh-agent or --identity)"));

  std::vector<std::string> tried;
  // Retries one auth call through EAGAIN; returns libssh2's final code, or a wait error.
  auto attempt = [&](auto&& call) -> Result<int> {
    for (;;) {
      int rc = call();
      if (rc != LIBSSH2_ERROR_EAGAIN) return rc;
      PGM_RETURN_IF_ERROR(wait_socket(deadline));
    }
  };
  auto is_refusal = [](int rc) { return rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED || rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED; };

  if (target.use_agent && env("SSH_AUTH_SOCK") != nullptr) {
    std::unique_ptr<LIBSSH2_AGENT, decltype(&libssh2_agent_free)> agent(libssh2_agent_init(session_), libssh2_agent_free);
    if (agent && libssh2_agent_connect(agent.get()) == 0) {
      if (libssh2_agent_list_identities(agent.get()) == 0) {
        libssh2_agent_publickey* identity = nullptr;
        int keys = 0;
        while (libssh2_agent_get_identity(agent.get(), &identity, identity) == 0) {
          ++keys;
          auto rc = attempt([&] { return libssh2_agent_userauth(agent.get(), user.c_str(), identity); });
          if (!rc) return fail(rc.status());
          if (*rc == 0) {
            libssh2_agent_disconnect(agent.get());
            return Status::Ok();
          }
          if (!is_refusal(*rc)) return fail(Status(Errc::network, "authenticating to " + where_ + ": " + last_error()));
        }
        tried.push_back(keys == 0 ? "agent (no keys)" : "agent");
      } else {
        tried.push_back("agent (unreadable)");
      }
      libssh2_agent_disconnect(agent.get());
    } else {
      tried.push_back("agent (cannot connect)");
    }
  }

  std::vector<std::string> files = target.identity_files;
  if (files.empty()) {
    for (const char* name : {"id_ed25519", "id_ecdsa", "id_rsa"}) {
      std::string path = home_dir() + "/.ssh/" + name;
      if (file_exists(path)) files.push_back(path);
    }
  }
  for (const auto& path : files) {
    if (!file_exists(path)) {
      tried.push_back(tilde(path) + " (missing)");
      continue;
    }
    // An empty passphrase, never NULL: libssh2 1.10 calls strlen() on it for encrypted PEM keys.
    auto rc = attempt([&] { return libssh2_userauth_publickey_fromfile_ex(session_, user.c_str(), ulen, nullptr, path.c_str(), ""); });
    if (!rc) return fail(rc.status());
    if (*rc == 0) return Status::Ok();
    if (*rc == LIBSSH2_ERROR_FILE) {
      tried.push_back(tilde(path) + " (unreadable or passphrase-protected: load it into ssh-agent)");
    } else if (is_refusal(*rc)) {
      tried.push_back(tilde(path));
    } else {
      return fail(Status(Errc::network, "authenticating to " + where_ + ": " + last_error()));
    }
  }

  // libssh2 reports a connection that broke while waiting for the server's answer as a
  // refused key: a refusal leaves the connection open, a broken link does not.
  std::string list;
  for (const auto& t : tried) list += (list.empty() ? "" : ", ") + t;
  if (list.empty()) list = "no keys: no ssh-agent and no ~/.ssh/id_ed25519, id_ecdsa or id_rsa";
  char peek = 0;
  const ssize_t n = ::recv(sock_.get(), &peek, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
    return fail(Status(Errc::network, "connection to " + where_ + " closed while authenticating " + who +
                                          " (a dropped link, or the server's MaxAuthTries; tried: " + list + ")"));
  return fail(Status(Errc::auth, "authentication failed for " + who + " (tried: " + list + ")"));
}

Result<std::unique_ptr<SshChannel>> SshSession::exec(const std::string& command, std::uint32_t window_size) {
  if (!broken_.ok()) return broken_;
  window_size = std::clamp<std::uint32_t>(window_size, 32u << 10, kMaxWindow);
  const auto forever = Clock::time_point::max();

  LIBSSH2_CHANNEL* channel = nullptr;
  for (;;) {
    // 32 KiB packets: what OpenSSH uses, and what libssh2 writes per call anyway.
    channel = libssh2_channel_open_ex(session_, "session", 7, window_size, 32768, nullptr, 0);
    if (channel) break;
    const int err = libssh2_session_last_errno(session_);
    // sshd refusing a channel (MaxSessions) leaves the connection fine; anything else does not.
    if (err == LIBSSH2_ERROR_CHANNEL_FAILURE) return Status(Errc::network, where_ + " refused a new channel: " + last_error());
    if (err != LIBSSH2_ERROR_EAGAIN) return fail(Status(Errc::network, "opening a channel to " + where_ + ": " + last_error()));
    PGM_RETURN_IF_ERROR(wait_socket(forever));
  }
  // From here the channel object owns the libssh2 channel and frees it on every path.
  std::unique_ptr<SshChannel> result(new SshChannel(*this, channel, command));
  for (;;) {
    int rc = libssh2_channel_process_startup(channel, "exec", 4, command.data(), static_cast<unsigned int>(command.size()));
    if (rc == 0) return result;
    if (rc == LIBSSH2_ERROR_CHANNEL_REQUEST_DENIED) return Status(Errc::network, where_ + " refused to run a command: " + last_error());
    if (rc != LIBSSH2_ERROR_EAGAIN) return fail(Status(Errc::network, "starting a command on " + where_ + ": " + last_error()));
    PGM_RETURN_IF_ERROR(wait_socket(forever));
  }
}

std::string SshSession::algorithms() const {
  auto method = [&](int type) {
    const char* m = libssh2_session_methods(session_, type);
    return std::string(m ? m : "?");
  };
  return method(LIBSSH2_METHOD_CRYPT_CS) + " " + method(LIBSSH2_METHOD_MAC_CS) + " " + method(LIBSSH2_METHOD_HOSTKEY);
}

Status SshSession::wait_socket(Clock::time_point deadline) {
  if (!broken_.ok()) return broken_;
  for (;;) {
    if (cancel_.cancelled()) return fail(cancel_.reason());
    const int dirs = libssh2_session_block_directions(session_);
    short events = 0;
    if (dirs & LIBSSH2_SESSION_BLOCK_INBOUND) events |= POLLIN;
    if (dirs & LIBSSH2_SESSION_BLOCK_OUTBOUND) events |= POLLOUT;
    int timeout = -1;
    if (deadline != Clock::time_point::max()) {
      const auto now = Clock::now();
      // Deadlines may be time_point::min() ("do not wait"): never subtract from those.
      timeout = deadline <= now ? 0
                                : static_cast<int>(std::min<long long>(
                                      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1, 1 << 30));
    }
    // EAGAIN with no direction recorded should not happen; a short nap avoids both a busy loop
    // and sleeping forever on a socket that has nothing to say.
    if (events == 0) {
      events = POLLIN;
      timeout = timeout < 0 ? 10 : std::min(timeout, 10);
    }
    pollfd fds[2] = {{sock_.get(), events, 0}, {cancel_.fd(), POLLIN, 0}};
    int n = ::poll(fds, 2, timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(Status(Errc::network, "poll on the connection to " + where_ + ": " + errno_text(errno)));
    }
    if (fds[1].revents != 0) return fail(cancel_.reason());
    // A timeout leaves libssh2 consistent (the caller decides whether it is fatal), so it does
    // not break the session.
    if (n == 0 && deadline != Clock::time_point::max() && Clock::now() >= deadline)
      return Status(Errc::timeout, "timed out waiting for " + where_);
    return Status::Ok();
  }
}

std::string SshSession::last_error() const {
  char* msg = nullptr;
  int len = 0;
  libssh2_session_last_error(session_, &msg, &len, 0);
  return msg && len > 0 ? std::string(msg, static_cast<std::size_t>(len)) : "unknown libssh2 error";
}

Status SshSession::fail(Status status) {
  if (broken_.ok()) broken_ = status;
  return status;
}

Result<std::string> remote_command_line(const std::vector<std::string>& argv) {
  if (argv.empty()) return Status(Errc::invalid_argument, "empty remote command");
  for (std::size_t i = 0; i < argv.size(); ++i)
    for (unsigned char c : argv[i])
      if (c < 0x20 || c == 0x7f)
        return Status(Errc::invalid_argument, "remote command argument " + std::to_string(i) + " has a control character (" +
                                                  std::to_string(static_cast<int>(c)) + ")");
  return join_command(argv);
}

}  // namespace pgm::transport
