// One authenticated SSH connection to a stock OpenSSH sshd, made with libssh2 (one TCP
// connection, one LIBSSH2_SESSION), and the remote commands run over it (ssh_channel.h).
//
// Threading: a session and its channels are used from ONE thread at a time; libssh2 sessions
// are not thread-safe. Parallelism comes from several sessions (one TCP connection each, so
// that sshd spreads the crypto over cores), never from sharing one between threads.
//
// Cancellation: every wait also polls the CancelToken given to connect(), so cancel() ends any
// call promptly with the token's reason. A call that failed or was cancelled may leave libssh2
// half-way through a packet: the session is then "broken", every later call returns the same
// error at once, and the caller should drop it (destruction never blocks for long).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/cancel.h"
#include "common/fd.h"
#include "common/process.h"
#include "pgmigrate/status.h"

typedef struct _LIBSSH2_SESSION LIBSSH2_SESSION;  // NOLINT: same typedef as <libssh2.h>

namespace pgm::transport {

class SshChannel;

// The name SSH logs in as when a target names no user: the effective local user's.
std::string local_user_name();

struct SshTarget {
  std::string host;  // name, IPv4 or IPv6 literal (without brackets)
  int port = 22;
  std::string user;  // empty: the local user
  // Private keys to offer after the agent. Empty: those of ~/.ssh/id_ed25519, id_ecdsa, id_rsa
  // that exist (like OpenSSH, explicit files replace the defaults).
  std::vector<std::string> identity_files;
  bool use_agent = true;  // offer ssh-agent keys first when SSH_AUTH_SOCK is set
  // Empty: ~/.ssh/known_hosts, plus /etc/ssh/ssh_known_hosts for lookups.
  std::string known_hosts;
  // Trust-on-first-use: append an unknown host key to the known_hosts file. A changed key is
  // refused regardless.
  bool accept_new_host_key = false;
  // Bounds TCP connect, SSH handshake and authentication together. Zero: no bound.
  std::chrono::milliseconds connect_timeout{20000};
  // TCP congestion control to ask for (e.g. "bbr"); silently left at the system default when
  // the kernel lacks it. Empty: system default.
  std::string tcp_congestion;
  // Non-empty: reach the server through this proxy process (ProxyJump's `ssh -W`, or
  // ProxyCommand via /bin/sh -c) on a socketpair instead of a TCP connection. `host` and `port`
  // still name the server for known_hosts and messages. One process per session.
  std::vector<std::string> proxy_argv;
};

class SshSession {
 public:
  // Channel window for exec(): OpenSSH's own size. Larger windows made OpenSSH 9.2's sshd burn
  // CPU and collapse throughput with several connections (see the transport notes).
  static constexpr std::uint32_t kDefaultWindow = 2u << 20;
  // sshd 8.4+ caps a channel's input buffer at 16 MiB; a window above that stalls.
  static constexpr std::uint32_t kMaxWindow = 15u << 20;

  // Resolves, connects (IPv4/IPv6), negotiates aes128-ctr + hmac-sha2-256 without compression,
  // checks the host key against known_hosts and authenticates with public keys.
  // Errors: Errc::network (resolve, connect, handshake), Errc::host_key (unknown, changed or
  // revoked key; the message shows the SHA256 fingerprint), Errc::auth, Errc::timeout never
  // (connect_timeout reports Errc::network), or the token's reason when cancelled.
  // REQUIRES: `cancel` outlives the session.
  static Result<std::unique_ptr<SshSession>> connect(const SshTarget& target, const CancelToken& cancel);

  // REQUIRES: every channel of this session was destroyed first.
  ~SshSession();
  SshSession(const SshSession&) = delete;
  SshSession& operator=(const SshSession&) = delete;

  // Runs `command` through the remote user's login shell (quote it with remote_command_line()).
  // `window_size` is how much the remote may send before we read it: the pull window. It is
  // clamped to [32 KiB, kMaxWindow]. The push window is sshd's and not ours to choose.
  Result<std::unique_ptr<SshChannel>> exec(const std::string& command, std::uint32_t window_size = kDefaultWindow);

  // "host:port" ("[::1]:22" for IPv6), for messages.
  const std::string& where() const { return where_; }
  // The host key's "SHA256:..." fingerprint, and whether connect() just added it to known_hosts
  // (the caller may want to say so, as OpenSSH does).
  const std::string& host_key_fingerprint() const { return fingerprint_; }
  bool host_key_added() const { return host_key_added_; }
  // Negotiated algorithms, e.g. "aes128-ctr hmac-sha2-256 ssh-ed25519", for logs.
  std::string algorithms() const;
  // Ok, or the error that broke the session.
  const Status& broken() const { return broken_; }

 private:
  friend class SshChannel;
  using Clock = std::chrono::steady_clock;

  SshSession(LIBSSH2_SESSION* session, UniqueFd sock, const CancelToken& cancel, std::string where);
  Status handshake(Clock::time_point deadline);
  Status verify_host_key(const SshTarget& target, const std::vector<std::string>& known_hosts_files);
  Status authenticate(const SshTarget& target, const std::string& user, Clock::time_point deadline);

  // Waits until the socket is ready in the direction libssh2 last blocked on, the deadline
  // passes (Errc::timeout; the session stays usable), or the token is cancelled.
  Status wait_socket(Clock::time_point deadline);
  // libssh2's last error message, for error texts.
  std::string last_error() const;
  // Records `status` as the reason the session can no longer be used, and returns it.
  Status fail(Status status);

  LIBSSH2_SESSION* session_;
  UniqueFd sock_;
  const CancelToken& cancel_;
  std::string where_;
  std::string fingerprint_;
  bool host_key_added_ = false;
  int live_channels_ = 0;
  Status broken_;
  // The proxy carrying the connection, if any: destroyed (stopped) after the session is freed.
  std::unique_ptr<Subprocess> proxy_;
};

// Quotes argv for the remote login shell, which sshd runs as `$SHELL -c COMMAND` (a POSIX
// shell is assumed). Control characters are refused (Errc::invalid_argument): they mean
// something to csh-family shells even inside quotes, and no dataset or path we send has one.
Result<std::string> remote_command_line(const std::vector<std::string>& argv);

}  // namespace pgm::transport
