#include "transport/proxy_connect.h"

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>

#include "common/errno_text.h"

namespace pgm::transport {

Result<ProxyConnection> proxy_connect(const std::vector<std::string>& argv) {
  int sv[2];
  // CLOEXEC on both: the child gets its end through dup2 onto 0 and 1 only, and other
  // children (zfs, other proxies) must not hold either end open.
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return Status(Errc::io, "socketpair for the proxy: " + errno_text(errno));
  UniqueFd ours(sv[0]), theirs(sv[1]);
  ProcessSpec spec;
  spec.argv = argv;
  spec.stdio_fd = theirs.get();
  auto proc = Subprocess::spawn(spec);
  if (!proc) return proc.status().context("starting the SSH proxy");
  theirs.reset();  // the child's copy alone keeps it open: its exit is our EOF
  // libssh2 runs non-blocking and the session polls, as with a TCP socket.
  const int flags = ::fcntl(ours.get(), F_GETFL);
  if (flags < 0 || ::fcntl(ours.get(), F_SETFL, flags | O_NONBLOCK) != 0)
    return Status(Errc::io, "making the proxy socket non-blocking: " + errno_text(errno));
  return ProxyConnection{std::move(ours), std::move(*proc)};
}

}  // namespace pgm::transport
