// A connection carried by a proxy process (OpenSSH's ProxyCommand, or `ssh -W` for ProxyJump)
// instead of a TCP socket: libssh2 only needs a stream socket, so it gets one end of a
// socketpair whose other end is the proxy's stdin and stdout.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/fd.h"
#include "common/process.h"
#include "pgmigrate/status.h"

namespace pgm::transport {

struct ProxyConnection {
  UniqueFd sock;  // non-blocking, our end
  // In its own process group; destroying it stops the proxy (and anything it started).
  std::unique_ptr<Subprocess> process;
};

// Starts `argv` (argv[0] looked up in PATH) with its stdin and stdout on a new socketpair.
// Errc::not_found when argv[0] does not exist.
Result<ProxyConnection> proxy_connect(const std::vector<std::string>& argv);

}  // namespace pgm::transport
