// The optional TLS data path (--tls-port): data lanes as direct TCP connections with TLS 1.3
// (AES-128-GCM through OpenSSL) instead of SSH channels. Why: libssh2 1.10 has no AES-GCM and
// encrypts 16 bytes per OpenSSL call, and on the far host sshd decrypts every byte and copies it
// through a pipe to pgmigrate; on small machines that crypto and copying, not the link, bounds
// a transfer (docs/benchmarks.md). Here the far pgmigrate terminates TLS itself.
//
// Trust comes from the SSH control connection, never from the network: the far half makes a
// fresh random 256-bit key for each transfer and sends it to the near half over that
// authenticated, encrypted channel. Both ends use it as a TLS 1.3 external pre-shared key
// (with an ECDHE exchange on top, so every connection has its own keys and forward secrecy).
// A peer without the key cannot complete a handshake; there are no certificates to manage.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/cancel.h"
#include "common/fd.h"
#include "pgmigrate/status.h"
#include "transport/channel.h"

using SSL = struct ssl_st;
using SSL_CTX = struct ssl_ctx_st;

namespace pgm::transport {

struct TlsKey {
  std::array<std::uint8_t, 32> bytes{};
  static Result<TlsKey> generate();
  static Result<TlsKey> from_hex(const std::string& hex);
  std::string hex() const;
};

// One TLS data connection. As a Channel it is a lane: send_eof() sends TLS close_notify and
// wait_exit() waits (bounded) for the peer's, so neither side closes a socket with unread input
// (which would send a reset and could cost the peer data it has not read yet).
class TlsStream final : public Channel {
 public:
  ~TlsStream() override;
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  Result<std::size_t> read_full(std::span<std::uint8_t> buf) override;
  Status write_all(std::span<const std::uint8_t> buf) override;
  Result<std::size_t> read_some(std::span<std::uint8_t> buf, std::chrono::milliseconds timeout) override;
  bool eof() const override { return eof_; }
  Status send_eof() override;
  // Waits up to 10 s for the peer's close_notify (or EOF); returns 0.
  Result<int> wait_exit() override;
  std::string stderr_text() override { return {}; }

 private:
  friend Result<std::unique_ptr<TlsStream>> tls_handshake(UniqueFd, SSL_CTX*, bool, std::chrono::steady_clock::time_point,
                                                          const CancelToken&);
  TlsStream(UniqueFd fd, SSL* ssl, const CancelToken& cancel) : fd_(std::move(fd)), ssl_(ssl), cancel_(cancel) {}
  // One SSL_read_ex: the bytes read, 0 at the peer's close_notify (eof_ set), Errc::timeout
  // when nothing came within `timeout_ms` (-1: wait for ever).
  Result<std::size_t> read_once(std::span<std::uint8_t> buf, int timeout_ms);

  UniqueFd fd_;
  SSL* ssl_;
  const CancelToken& cancel_;
  bool eof_ = false;
  bool shut_ = false;
};

// Near half: connects to host:port and completes the handshake with `key` by `deadline`.
// `tcp_connected`, if given, tells a port nobody answers on (false: a firewall, a wrong port)
// from a connection the far half took and then dropped (true: busy, worth another try).
Result<std::unique_ptr<TlsStream>> tls_connect(const std::string& host, int port, const TlsKey& key,
                                               std::chrono::steady_clock::time_point deadline, const CancelToken& cancel,
                                               bool* tcp_connected = nullptr);

// Far half: listens for lanes that present `key`.
class TlsListener {
 public:
  // `address` a numeric IPv4 or IPv6 address; `port` 0 picks a free one.
  static Result<TlsListener> listen(const std::string& address, int port, const TlsKey& key);
  TlsListener(TlsListener&&) noexcept;
  TlsListener& operator=(TlsListener&&) noexcept;
  ~TlsListener();

  int port() const { return port_; }
  const TlsKey& key() const { return *key_; }
  // Waits up to timeout_ms for the next TCP connection; Errc::timeout if none came. `peer`, if
  // given, receives the numeric address it came from (IPv4-mapped IPv6 addresses as IPv4).
  Result<UniqueFd> accept(const CancelToken& cancel, int timeout_ms, std::string* peer = nullptr) const;
  // The server side of the handshake on an accepted connection. A peer without the key fails
  // here (Errc::auth), so the acceptor can run this on the lane's own thread.
  Result<std::unique_ptr<TlsStream>> handshake(UniqueFd fd, std::chrono::steady_clock::time_point deadline,
                                               const CancelToken& cancel) const;

 private:
  TlsListener() = default;
  UniqueFd fd_;
  int port_ = 0;
  std::unique_ptr<TlsKey> key_;  // on the heap: the context points at it, and listeners move
  SSL_CTX* ctx_ = nullptr;
};

// The address this process was reached at over SSH (the server half of $SSH_CONNECTION), so
// that the far half listens where the near half can already connect; 127.0.0.1 without SSH.
std::string ssh_server_address();
// The address the near half connected from over SSH (the client half of $SSH_CONNECTION), the
// only one genuine lanes come from unless they are relayed (--tls-connect); empty without SSH.
std::string ssh_client_address();

}  // namespace pgm::transport
