// The TLS data path over real loopback TCP connections: the handshake with the transfer's key,
// a refused peer with another key, bulk data both ways, the close handshake and cancellation.
#include "transport/tls.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <future>
#include <numeric>
#include <thread>
#include <vector>

#include "common/cancel.h"
#include "common/fd.h"
#include "transport/tcp_connect.h"

namespace pgm::transport {
namespace {

using Clock = std::chrono::steady_clock;

TlsKey key_or_die() {
  auto k = TlsKey::generate();
  EXPECT_TRUE(k.ok());
  return *k;
}

struct Pair {
  std::unique_ptr<TlsStream> client, server;
};

// Connects a client with `client_key` to a listener with `server_key`.
Result<Pair> connect_pair(const TlsListener& l, const TlsKey& client_key, const CancelToken& cancel, Status* server_status = nullptr) {
  auto server = std::async(std::launch::async, [&]() -> Result<std::unique_ptr<TlsStream>> {
    auto fd = l.accept(cancel, 5000);
    if (!fd) return fd.status();
    return l.handshake(std::move(*fd), Clock::now() + std::chrono::seconds(5), cancel);
  });
  auto client = tls_connect("127.0.0.1", l.port(), client_key, Clock::now() + std::chrono::seconds(5), cancel);
  auto s = server.get();
  if (server_status != nullptr) *server_status = s.ok() ? Status::Ok() : s.status();
  if (!client) return client.status();
  if (!s) return s.status();
  return Pair{std::move(*client), std::move(*s)};
}

TEST(TlsKey, HexRoundTripAndMalformed) {
  TlsKey k = key_or_die();
  auto back = TlsKey::from_hex(k.hex());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->bytes, k.bytes);
  EXPECT_EQ(TlsKey::from_hex("abc").status().code(), Errc::protocol);
  EXPECT_EQ(TlsKey::from_hex(std::string(64, 'g')).status().code(), Errc::protocol);
  EXPECT_NE(key_or_die().bytes, k.bytes);  // fresh per transfer
}

TEST(Tls, CarriesBulkDataBothWaysAndClosesCleanly) {
  CancelToken cancel;
  TlsKey key = key_or_die();
  auto l = TlsListener::listen("127.0.0.1", 0, key);
  ASSERT_TRUE(l.ok()) << l.status().message();
  ASSERT_GT(l->port(), 0);
  auto p = connect_pair(*l, key, cancel);
  ASSERT_TRUE(p.ok()) << p.status().message();

  // 8 MiB + 5 bytes: many records, and a tail that is not a multiple of anything.
  std::vector<std::uint8_t> data(8 * 1024 * 1024 + 5);
  std::iota(data.begin(), data.end(), std::uint8_t{7});
  auto writer = std::async(std::launch::async, [&] {
    Status s = p->client->write_all(data);
    if (s.ok()) s = p->client->send_eof();
    return s;
  });
  std::vector<std::uint8_t> got(data.size() + 100);
  auto n = p->server->read_full(got);
  ASSERT_TRUE(writer.get().ok());
  ASSERT_TRUE(n.ok()) << n.status().message();
  ASSERT_EQ(*n, data.size());  // short read: the client's close_notify ended the stream
  got.resize(*n);
  EXPECT_EQ(got, data);
  EXPECT_TRUE(p->server->eof());

  // The other way, with read_some and its timeout.
  std::uint8_t buf[64];
  auto none = p->client->read_some(buf, std::chrono::milliseconds(50));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0u);
  const std::uint8_t hello[] = {'h', 'i'};
  ASSERT_TRUE(p->server->write_all(hello).ok());
  auto some = p->client->read_some(buf, std::chrono::milliseconds(5000));
  ASSERT_TRUE(some.ok());
  EXPECT_EQ(*some, 2u);

  // Both sides close: each sees the other's close_notify, nobody waits out the timeout.
  auto t0 = Clock::now();
  auto server_done = std::async(std::launch::async, [&] { return p->server->wait_exit(); });
  auto code = p->client->wait_exit();
  ASSERT_TRUE(code.ok()) << code.status().message();
  ASSERT_TRUE(server_done.get().ok());
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5));
  EXPECT_FALSE(p->server->write_all(hello).ok());  // closed for writing
}

TEST(Tls, RefusesAPeerWithAnotherKey) {
  CancelToken cancel;
  auto l = TlsListener::listen("127.0.0.1", 0, key_or_die());
  ASSERT_TRUE(l.ok());
  Status server;
  auto p = connect_pair(*l, key_or_die(), cancel, &server);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(server.code(), Errc::auth) << server.message();
  EXPECT_TRUE(p.status().code() == Errc::auth || p.status().code() == Errc::network) << p.status().message();
  EXPECT_NE(server.message().find("key"), std::string::npos) << server.message();
}

// An impostor: a TLS 1.3 server with a certificate of its own and no key. The client offers the
// PSK, the impostor ignores it and presents its certificate: that must not be accepted.
TEST(Tls, ClientRefusesAServerWithoutTheKey) {
  ::signal(SIGPIPE, SIG_IGN);
  EVP_PKEY* pkey = EVP_EC_gen("P-256");
  ASSERT_NE(pkey, nullptr);
  X509* cert = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, pkey);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("impostor"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  ASSERT_GT(X509_sign(cert, pkey, EVP_sha256()), 0);
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  ASSERT_EQ(SSL_CTX_use_certificate(ctx, cert), 1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey(ctx, pkey), 1);

  int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_EQ(::listen(lfd, 1), 0);
  ASSERT_EQ(::getsockname(lfd, reinterpret_cast<sockaddr*>(&sa), &len), 0);
  std::thread impostor([&] {
    int fd = ::accept(lfd, nullptr, nullptr);
    if (fd < 0) return;
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1) {
      const char secret_request[] = "send me the stream";
      SSL_write(ssl, secret_request, sizeof secret_request);
    }
    SSL_free(ssl);
    ::close(fd);
  });
  CancelToken cancel;
  auto client = tls_connect("127.0.0.1", ntohs(sa.sin_port), key_or_die(), Clock::now() + std::chrono::seconds(5), cancel);
  impostor.join();
  ::close(lfd);
  SSL_CTX_free(ctx);
  X509_free(cert);
  EVP_PKEY_free(pkey);
  ASSERT_FALSE(client.ok()) << "a server without the key was accepted";
  EXPECT_EQ(client.status().code(), Errc::auth) << client.status().message();
}

TEST(Tls, RefusesAPeerWithoutTls) {
  // The server's alert may go to a peer that already closed: an EPIPE, as in pgmigrate, not a signal.
  ::signal(SIGPIPE, SIG_IGN);
  CancelToken cancel;
  auto l = TlsListener::listen("127.0.0.1", 0, key_or_die());
  ASSERT_TRUE(l.ok());
  auto server = std::async(std::launch::async, [&]() -> Status {
    auto fd = l->accept(cancel, 5000);
    if (!fd) return fd.status();
    auto s = l->handshake(std::move(*fd), Clock::now() + std::chrono::seconds(5), cancel);
    return s.ok() ? Status::Ok() : s.status();
  });
  {
    auto fd = tcp_connect("127.0.0.1", l->port(), Clock::now() + std::chrono::seconds(5), cancel);
    ASSERT_TRUE(fd.ok());
    const char junk[] = "SSH-2.0-not-tls\r\n";
    ASSERT_TRUE(write_full(fd->get(), std::span(reinterpret_cast<const std::uint8_t*>(junk), sizeof junk - 1), cancel).ok());
  }  // and closes
  Status s = server.get();
  EXPECT_FALSE(s.ok());
}

// What the far half needs to turn away strangers: the address a connection came from, and the
// near host's address from $SSH_CONNECTION.
TEST(Tls, AcceptNamesThePeerAndSshClientAddressParses) {
  CancelToken cancel;
  auto l = TlsListener::listen("127.0.0.1", 0, key_or_die());
  ASSERT_TRUE(l.ok());
  auto client = tcp_connect("127.0.0.1", l->port(), Clock::now() + std::chrono::seconds(5), cancel);
  ASSERT_TRUE(client.ok());
  std::string peer;
  auto fd = l->accept(cancel, 5000, &peer);
  ASSERT_TRUE(fd.ok()) << fd.status().message();
  EXPECT_EQ(peer, "127.0.0.1");

  ::setenv("SSH_CONNECTION", "::ffff:10.1.2.3 50000 10.1.2.4 22", 1);
  EXPECT_EQ(ssh_client_address(), "10.1.2.3");
  ::setenv("SSH_CONNECTION", "2001:db8::5 50000 2001:db8::6 22", 1);
  EXPECT_EQ(ssh_client_address(), "2001:db8::5");
  ::unsetenv("SSH_CONNECTION");
  EXPECT_EQ(ssh_client_address(), "");
}

TEST(Tls, ReadIsCancellable) {
  CancelToken cancel;
  TlsKey key = key_or_die();
  auto l = TlsListener::listen("127.0.0.1", 0, key);
  ASSERT_TRUE(l.ok());
  auto p = connect_pair(*l, key, cancel);
  ASSERT_TRUE(p.ok()) << p.status().message();
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    cancel.cancel(Status(Errc::interrupted, "stop"));
  });
  std::uint8_t buf[16];
  auto n = p->server->read_full(buf);
  stopper.join();
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), Errc::interrupted);
}

TEST(Tls, ListenErrorsNameTheAddress) {
  auto bad = TlsListener::listen("not-an-address", 0, key_or_die());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("not-an-address"), std::string::npos);
  auto first = TlsListener::listen("127.0.0.1", 0, key_or_die());
  ASSERT_TRUE(first.ok());
  auto taken = TlsListener::listen("127.0.0.1", first->port(), key_or_die());
  ASSERT_FALSE(taken.ok());
  EXPECT_NE(taken.status().message().find(std::to_string(first->port())), std::string::npos) << taken.status().message();
}

}  // namespace
}  // namespace pgm::transport
