// migrate::Remote (remote.h) over SSH: far pgmigrate commands on the session's connections
// (their secrets on stdin), the TLS probe, and each increment through `push`, which the caller
// supplies (the transfer with its progress rendering: cli/migrate_remote.cc).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

#include "common/cancel.h"
#include "migrate/remote.h"
#include "pgmigrate/session.h"
#include "pgmigrate/status.h"

namespace pgm::migrate {

// Sends one increment; `position` follows the stream while it runs. Returns the logical bytes.
using PushFn = std::function<Result<std::uint64_t>(const Push&, std::atomic<std::uint64_t>& position, CancelToken& cancel)>;

std::unique_ptr<Remote> ssh_remote(session::Remote remote, PushFn push);

}  // namespace pgm::migrate
