#include "transport/tcp_connect.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "common/errno_text.h"

namespace pgm::transport {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  if (deadline == Clock::time_point::max()) return -1;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return ms <= 0 ? 0 : static_cast<int>(std::min<long long>(ms, 1 << 30));
}

// Connects one address. Ok, or the errno text.
Result<UniqueFd> connect_one(const addrinfo& ai, Clock::time_point deadline, const CancelToken& cancel, std::string& reason) {
  UniqueFd fd(::socket(ai.ai_family, ai.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai.ai_protocol));
  if (!fd.valid()) {
    reason = errno_text(errno);
    return Status(Errc::network, reason);
  }
  if (::connect(fd.get(), ai.ai_addr, ai.ai_addrlen) == 0) return fd;
  if (errno != EINPROGRESS) {
    reason = errno_text(errno);
    return Status(Errc::network, reason);
  }
  for (;;) {
    if (cancel.cancelled()) return cancel.reason();
    pollfd fds[2] = {{fd.get(), POLLOUT, 0}, {cancel.fd(), POLLIN, 0}};
    int n = ::poll(fds, 2, remaining_ms(deadline));
    if (n < 0) {
      if (errno == EINTR) continue;
      reason = errno_text(errno);
      return Status(Errc::network, reason);
    }
    if (fds[1].revents != 0) return cancel.reason();
    if (n == 0) {
      reason = "timed out";
      return Status(Errc::network, reason);
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) {
      reason = errno_text(err);
      return Status(Errc::network, reason);
    }
    return fd;
  }
}

}  // namespace

std::string host_port(const std::string& host, int port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Result<UniqueFd> tcp_connect(const std::string& host, int port, Clock::time_point deadline, const CancelToken& cancel,
                             const std::string& congestion) {
  const std::string where = host_port(host, port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  // No AI_ADDRCONFIG: it ignores loopback, so "localhost" would not resolve on a host whose only
  // interface is lo (CI containers).
  addrinfo* list = nullptr;
  const std::string service = std::to_string(port);
  int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &list);
  if (rc != 0) return Status(Errc::network, "cannot resolve " + host + ": " + ::gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owner(list, ::freeaddrinfo);

  std::string reason = "no address";
  for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    auto fd = connect_one(*ai, deadline, cancel, reason);
    if (cancel.cancelled()) return cancel.reason();
    if (!fd) {
      if (reason == "timed out") break;  // the deadline covers all addresses
      continue;
    }
    int one = 1;
    (void)::setsockopt(fd->get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (!congestion.empty())
      (void)::setsockopt(fd->get(), IPPROTO_TCP, TCP_CONGESTION, congestion.data(), static_cast<socklen_t>(congestion.size()));
    return std::move(*fd);
  }
  return Status(Errc::network, "cannot connect to " + where + ": " + reason);
}

}  // namespace pgm::transport
