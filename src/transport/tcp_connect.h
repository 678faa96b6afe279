// The TCP connection under an SSH session or a TLS data lane.
#pragma once

#include <chrono>
#include <string>

#include "common/cancel.h"
#include "common/fd.h"
#include "pgmigrate/status.h"

namespace pgm::transport {

// Resolves `host` (IPv4 or IPv6) and connects to the first address that answers, giving up at
// `deadline`. The socket comes back non-blocking with TCP_NODELAY, and with `congestion` as its
// congestion control when the kernel has it. Socket buffers are left to Linux autotuning:
// pinning SO_SNDBUF/SO_RCVBUF would switch it off. Errc::network names host:port and the reason.
// Name resolution itself is not cancellable (getaddrinfo blocks).
Result<UniqueFd> tcp_connect(const std::string& host, int port, std::chrono::steady_clock::time_point deadline, const CancelToken& cancel,
                             const std::string& congestion = "");

// "host:port", with brackets around IPv6 literals.
std::string host_port(const std::string& host, int port);

}  // namespace pgm::transport
