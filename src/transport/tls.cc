#include "transport/tls.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "common/errno_text.h"
#include "common/random.h"
#include "stream/format.h"
#include "transport/tcp_connect.h"

namespace pgm::transport {
namespace {

using Clock = std::chrono::steady_clock;

// Names the key to the server; one key per listener, so it only has to match.
constexpr unsigned char kIdentity[] = "pgmigrate-lane-v1";
constexpr std::size_t kIdentityLen = sizeof kIdentity - 1;
// TLS_AES_128_GCM_SHA256: AES-NI and carry-less multiply make it the cheapest AEAD here.
constexpr unsigned char kCipherId[] = {0x13, 0x01};
constexpr char kCipherName[] = "TLS_AES_128_GCM_SHA256";

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown TLS error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

// The PSK as the session OpenSSL resumes from (how TLS 1.3 external PSKs are given to it).
SSL_SESSION* psk_session(SSL* ssl, const TlsKey& key) {
  const SSL_CIPHER* cipher = SSL_CIPHER_find(ssl, kCipherId);
  if (cipher == nullptr) return nullptr;
  SSL_SESSION* s = SSL_SESSION_new();
  if (s == nullptr) return nullptr;
  if (SSL_SESSION_set1_master_key(s, key.bytes.data(), key.bytes.size()) != 1 || SSL_SESSION_set_cipher(s, cipher) != 1 ||
      SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION) != 1) {
    SSL_SESSION_free(s);
    return nullptr;
  }
  return s;
}

const TlsKey* key_of(SSL* ssl) { return static_cast<const TlsKey*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl))); }

int use_psk(SSL* ssl, const EVP_MD* md, const unsigned char** id, std::size_t* idlen, SSL_SESSION** sess) {
  *sess = nullptr;
  const SSL_CIPHER* cipher = SSL_CIPHER_find(ssl, kCipherId);
  if (cipher == nullptr || (md != nullptr && md != SSL_CIPHER_get_handshake_digest(cipher))) return 1;  // no PSK: fails
  *sess = psk_session(ssl, *key_of(ssl));
  *id = kIdentity;
  *idlen = kIdentityLen;
  return *sess != nullptr ? 1 : 0;
}

int find_psk(SSL* ssl, const unsigned char* identity, std::size_t len, SSL_SESSION** sess) {
  *sess = nullptr;
  if (len != kIdentityLen || std::memcmp(identity, kIdentity, len) != 0) return 1;  // unknown: the handshake fails
  *sess = psk_session(ssl, *key_of(ssl));
  return *sess != nullptr ? 1 : 0;
}

Result<SSL_CTX*> make_ctx(bool server, const TlsKey* key) {
  SSL_CTX* ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (ctx == nullptr) return Status(Errc::internal, "TLS: " + openssl_error());
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 || SSL_CTX_set_ciphersuites(ctx, kCipherName) != 1) {
    SSL_CTX_free(ctx);
    return Status(Errc::unsupported, "TLS 1.3 with " + std::string(kCipherName) + " is not available: " + openssl_error());
  }
  SSL_CTX_set_app_data(ctx, const_cast<TlsKey*>(key));
  // Partial writes: SSL_write returns after each record that went out, so a full socket
  // buffer is waited on in poll() with the cancel token, never inside OpenSSL.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (server) {
    SSL_CTX_set_psk_find_session_callback(ctx, find_psk);
    (void)SSL_CTX_set_num_tickets(ctx, 0);  // nothing to resume: each lane handshakes afresh
  } else {
    SSL_CTX_set_psk_use_session_callback(ctx, use_psk);
    // No certificate is ever trusted (there is no trust store): a server that answers the PSK
    // offer with a certificate instead, i.e. one without the key, fails verification.
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  }
  return ctx;
}

// A peer that vanishes (a host that died, FINs lost in an outage) must not hold a lane's thread
// for ever: keepalives find it within ~90 s when idle, TCP_USER_TIMEOUT when data is unacked.
void guard_against_dead_peers(int fd) {
  int one = 1, idle = 30, interval = 10, count = 6;
  unsigned user_timeout_ms = 120'000;
  (void)::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms, sizeof user_timeout_ms);
}

// Waits until OpenSSL can go on (`want` SSL_ERROR_WANT_READ or _WRITE), cancellable.
// timeout_ms -1: no timeout.
Status wait_io(int fd, int want, int timeout_ms, const CancelToken& cancel) {
  pollfd fds[2] = {{fd, static_cast<short>(want == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN), 0}, {cancel.fd(), POLLIN, 0}};
  for (;;) {
    int r = ::poll(fds, 2, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Status(Errc::io, std::string("poll: ") + errno_text(errno));
    if (fds[1].revents != 0) return cancel.reason();
    if (r == 0) return Status(Errc::timeout, "timed out");
    return Status::Ok();
  }
}

int ms_until(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::max<std::int64_t>(left, 0));
}

Status io_failure(int err, const char* what) {
  if (err == SSL_ERROR_SYSCALL) {
    int e = errno;
    ERR_clear_error();
    return Status(Errc::network, std::string(what) + ": " + (e != 0 ? errno_text(e) : "connection closed"));
  }
  if (err == SSL_ERROR_ZERO_RETURN) return Status(Errc::network, std::string(what) + ": the peer closed the connection");
  // OpenSSL 3 reports a close without close_notify as an SSL error ("unexpected eof").
  return Status(Errc::network, std::string(what) + ": " + openssl_error());
}

}  // namespace

Result<TlsKey> TlsKey::generate() {
  TlsKey k;
  PGM_RETURN_IF_ERROR(random_bytes(k.bytes).context("a TLS key"));
  return k;
}

std::string TlsKey::hex() const { return stream::to_hex(bytes); }

Result<TlsKey> TlsKey::from_hex(const std::string& hex) {
  auto b = stream::from_hex(hex, sizeof(TlsKey::bytes));
  if (!b || b->size() != sizeof(TlsKey::bytes)) return Status(Errc::protocol, "malformed TLS key");
  TlsKey k;
  std::copy(b->begin(), b->end(), k.bytes.begin());
  return k;
}

// ---------------------------------------------------------------------------------------

Result<std::unique_ptr<TlsStream>> tls_handshake(UniqueFd fd, SSL_CTX* ctx, bool server, Clock::time_point deadline,
                                                 const CancelToken& cancel) {
  SSL* ssl = SSL_new(ctx);
  if (ssl == nullptr) return Status(Errc::internal, "TLS: " + openssl_error());
  std::unique_ptr<TlsStream> stream(new TlsStream(std::move(fd), ssl, cancel));
  if (SSL_set_fd(ssl, stream->fd_.get()) != 1) return Status(Errc::internal, "TLS: " + openssl_error());
  for (;;) {
    ERR_clear_error();
    int rc = server ? SSL_accept(ssl) : SSL_connect(ssl);
    if (rc == 1) {
      // Belt and braces: the handshake must have been keyed by the PSK on both sides.
      if (SSL_session_reused(ssl) != 1) return Status(Errc::auth, "TLS handshake without this transfer's key refused");
      return stream;
    }
    int err = SSL_get_error(ssl, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      Status w = wait_io(stream->fd_.get(), err, ms_until(deadline), cancel);
      if (w.code() == Errc::timeout) return Status(Errc::timeout, "TLS handshake timed out");
      PGM_RETURN_IF_ERROR(w);
      continue;
    }
    // OpenSSL 3 reports a connection closed mid-handshake as a protocol error too: that is the
    // network (and worth a reconnect); any other protocol failure is a peer without the key.
    if (err == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_error()) != SSL_R_UNEXPECTED_EOF_WHILE_READING)
      return Status(Errc::auth, "TLS handshake refused (not this transfer's key?): " + openssl_error());
    return io_failure(err, "TLS handshake");
  }
}

TlsStream::~TlsStream() { SSL_free(ssl_); }

Result<std::size_t> TlsStream::read_once(std::span<std::uint8_t> buf, int timeout_ms) {
  if (eof_) return std::size_t{0};
  for (;;) {
    ERR_clear_error();
    std::size_t n = 0;
    int rc = SSL_read_ex(ssl_, buf.data(), buf.size(), &n);
    if (rc == 1) return n;
    int err = SSL_get_error(ssl_, rc);
    if (err == SSL_ERROR_ZERO_RETURN) {
      eof_ = true;
      return std::size_t{0};
    }
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      PGM_RETURN_IF_ERROR(wait_io(fd_.get(), err, timeout_ms, cancel_));
      continue;
    }
    return io_failure(err, "TLS read");
  }
}

Result<std::size_t> TlsStream::read_full(std::span<std::uint8_t> buf) {
  std::size_t got = 0;
  while (got < buf.size()) {
    auto n = read_once(buf.subspan(got), -1);
    if (!n) return n.status();
    if (*n == 0) break;  // close_notify: the end of the stream
    got += *n;
  }
  return got;
}

Result<std::size_t> TlsStream::read_some(std::span<std::uint8_t> buf, std::chrono::milliseconds timeout) {
  auto n = read_once(buf, static_cast<int>(timeout.count()));
  if (!n && n.status().code() == Errc::timeout) return std::size_t{0};
  return n;
}

Status TlsStream::write_all(std::span<const std::uint8_t> buf) {
  if (shut_) return Status(Errc::io, "TLS data connection already closed for writing");
  std::size_t off = 0;
  while (off < buf.size()) {
    ERR_clear_error();
    std::size_t n = 0;
    int rc = SSL_write_ex(ssl_, buf.data() + off, buf.size() - off, &n);
    if (rc == 1) {
      off += n;
      continue;
    }
    int err = SSL_get_error(ssl_, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      PGM_RETURN_IF_ERROR(wait_io(fd_.get(), err, -1, cancel_));
      continue;
    }
    return io_failure(err, "TLS write");
  }
  return Status::Ok();
}

Status TlsStream::send_eof() {
  if (shut_) return Status::Ok();
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  for (;;) {
    ERR_clear_error();
    int rc = SSL_shutdown(ssl_);
    if (rc >= 0) break;  // 0: ours is sent, the peer's not yet seen; 1: both
    int err = SSL_get_error(ssl_, rc);
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) return io_failure(err, "TLS close");
    PGM_RETURN_IF_ERROR(wait_io(fd_.get(), err, ms_until(deadline), cancel_));
  }
  shut_ = true;
  return Status::Ok();
}

Result<int> TlsStream::wait_exit() {
  PGM_RETURN_IF_ERROR(send_eof());
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  std::uint8_t sink[16384];
  while (!eof_) {
    auto n = read_once(sink, ms_until(deadline));
    if (!n) {
      if (n.status().code() == Errc::timeout) return Status(Errc::timeout, "the far half did not close its TLS data connection");
      if (n.status().code() == Errc::network) break;  // closed without close_notify: closed all the same
      return n.status();
    }
  }
  return 0;
}

// ---------------------------------------------------------------------------------------

Result<std::unique_ptr<TlsStream>> tls_connect(const std::string& host, int port, const TlsKey& key, Clock::time_point deadline,
                                               const CancelToken& cancel, bool* tcp_connected) {
  if (tcp_connected) *tcp_connected = false;
  auto fd = tcp_connect(host, port, deadline, cancel);
  if (!fd) return fd.status();
  if (tcp_connected) *tcp_connected = true;
  guard_against_dead_peers(fd->get());
  auto ctx = make_ctx(false, &key);
  if (!ctx) return ctx.status();
  // The connection holds its own reference to the context; the key is only read during the
  // handshake, while `key` is alive.
  auto stream = tls_handshake(std::move(*fd), *ctx, false, deadline, cancel);
  SSL_CTX_free(*ctx);
  if (!stream) return stream.status().context("TLS data connection to " + host_port(host, port));
  return stream;
}

Result<TlsListener> TlsListener::listen(const std::string& address, int port, const TlsKey& key) {
  const std::string where = host_port(address, port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  int gai = ::getaddrinfo(address.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (gai != 0) return Status(Errc::invalid_argument, "cannot listen on " + where + ": " + ::gai_strerror(gai));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(res, ::freeaddrinfo);
  TlsListener l;
  l.fd_.reset(::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!l.fd_.valid()) return Status(Errc::network, "cannot listen on " + where + ": " + errno_text(errno));
  int one = 1;
  // A transfer run again (resume) binds the same port while the last run's sockets linger.
  (void)::setsockopt(l.fd_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(l.fd_.get(), res->ai_addr, res->ai_addrlen) != 0 || ::listen(l.fd_.get(), 64) != 0)
    return Status(Errc::network, "cannot listen for TLS data connections on " + where + ": " + errno_text(errno));
  sockaddr_storage sa{};
  socklen_t len = sizeof sa;
  if (::getsockname(l.fd_.get(), reinterpret_cast<sockaddr*>(&sa), &len) != 0)
    return Status(Errc::network, "getsockname: " + errno_text(errno));
  l.port_ =
      ntohs(sa.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&sa)->sin6_port : reinterpret_cast<sockaddr_in*>(&sa)->sin_port);
  l.key_ = std::make_unique<TlsKey>(key);
  auto ctx = make_ctx(true, l.key_.get());
  if (!ctx) return ctx.status();
  l.ctx_ = *ctx;
  return l;
}

TlsListener::TlsListener(TlsListener&& o) noexcept
    : fd_(std::move(o.fd_)), port_(o.port_), key_(std::move(o.key_)), ctx_(std::exchange(o.ctx_, nullptr)) {}

TlsListener& TlsListener::operator=(TlsListener&& o) noexcept {
  if (this != &o) {
    SSL_CTX_free(ctx_);
    fd_ = std::move(o.fd_);
    port_ = o.port_;
    key_ = std::move(o.key_);
    ctx_ = std::exchange(o.ctx_, nullptr);
  }
  return *this;
}

TlsListener::~TlsListener() { SSL_CTX_free(ctx_); }

Result<UniqueFd> TlsListener::accept(const CancelToken& cancel, int timeout_ms, std::string* peer) const {
  Status w = wait_io(fd_.get(), SSL_ERROR_WANT_READ, timeout_ms, cancel);
  if (!w.ok()) return w;
  sockaddr_storage sa{};
  socklen_t len = sizeof sa;
  UniqueFd fd(::accept4(fd_.get(), reinterpret_cast<sockaddr*>(&sa), &len, SOCK_NONBLOCK | SOCK_CLOEXEC));
  if (!fd.valid()) {
    if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) return Status(Errc::timeout, "no connection");
    return Status(Errc::network, "accept: " + errno_text(errno));
  }
  if (peer) {
    char host[NI_MAXHOST] = "";
    if (::getnameinfo(reinterpret_cast<sockaddr*>(&sa), len, host, sizeof host, nullptr, 0, NI_NUMERICHOST) != 0) host[0] = '\0';
    *peer = host;
    if (peer->starts_with("::ffff:") && peer->find('.') != std::string::npos) peer->erase(0, 7);
  }
  int one = 1;
  (void)::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  guard_against_dead_peers(fd.get());
  return fd;
}

Result<std::unique_ptr<TlsStream>> TlsListener::handshake(UniqueFd fd, Clock::time_point deadline, const CancelToken& cancel) const {
  return tls_handshake(std::move(fd), ctx_, true, deadline, cancel);
}

std::string ssh_server_address() {
  // "client_ip client_port server_ip server_port"; nothing sets the environment while we run.
  const char* conn = std::getenv("SSH_CONNECTION");  // NOLINT(concurrency-mt-unsafe)
  if (conn == nullptr) return "127.0.0.1";
  std::istringstream in(conn);
  std::string client, client_port, server;
  if (!(in >> client >> client_port >> server)) return "127.0.0.1";
  return server;
}

std::string ssh_client_address() {
  const char* conn = std::getenv("SSH_CONNECTION");  // NOLINT(concurrency-mt-unsafe)
  if (conn == nullptr) return {};
  std::istringstream in(conn);
  std::string client;
  if (!(in >> client)) return {};
  if (client.starts_with("::ffff:") && client.find('.') != std::string::npos) client.erase(0, 7);
  return client;
}

}  // namespace pgm::transport
