// migrate::Remote (remote.h) over SSH: far pgmigrate commands on the session's connections
// (their secrets on stdin), the TLS probe, and each increment through `push`, which the caller
// supplies (the transfer with its progress rendering: cli/migrate_remote.cc).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/cancel.h"
#include "migrate/remote.h"
#include "pgmigrate/session.h"
#include "pgmigrate/status.h"

namespace pgm::migrate {

// Sends one increment; `position` follows the stream while it runs. Returns the logical bytes.
using PushFn = std::function<Result<std::uint64_t>(const Push&, std::atomic<std::uint64_t>& position, CancelToken& cancel)>;

// What --bulk-via needs of its caller, which owns the object-store flags and credentials.
struct ObjectRelay {
  // The --s3-* flags of the target's `pgmigrate objects ls` / `recv --follow` (the endpoint and
  // request limits as given here; credentials are the target's own), each word shell-quoted.
  std::string far_flags;
  // Lists `url`'s prefix from this host, with this host's credentials.
  std::function<Status(const std::string& url, CancelToken& cancel)> probe_here;
  // Uploads one full stream to `url` from this host; returns the logical bytes (0: already there).
  std::function<Result<std::uint64_t>(const Push& p, const std::string& url, CancelToken& cancel)> upload;
};

std::unique_ptr<Remote> ssh_remote(session::Remote remote, PushFn push, ObjectRelay objects);

}  // namespace pgm::migrate
