// What migrate needs of the target host, and nothing more: run a far pgmigrate command and
// read its answer, try the TLS data path, push an increment. cli/migrate_remote.cc binds it to
// the SSH control session and the transfer (the only file that does); tests may bind it to
// anything else.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/cancel.h"
#include "common/status.h"

namespace pgm::migrate {

// Options for a far command that may hold a password (conninfo): "--flag" -> value. They go on
// the far command's stdin, never on its command line (every user there sees it in `ps`).
using Secrets = std::vector<std::pair<std::string, std::string>>;
// The longest line of secrets the far pgmigrate reads (cli/secret_options.h's kMaxOptionsLine;
// the binding checks they agree). A Debian cluster's config bundle travels on it.
inline constexpr std::size_t kMaxSecretsLine = std::size_t{16} << 20;

// One send to the target: `snapshot` (incremental from `base` when not empty) into `dataset`.
struct Push {
  std::string snapshot;
  std::string base;
  std::string dataset;
  // zfs receive -F: rolls `dataset` back to its last snapshot first. For an incremental into a
  // dataset with children: mounting a child changes its parent on zfs-fuse, which then refuses
  // the increment as "modified since most recent snapshot". Nothing else writes the target
  // before the standby starts, and nothing is sent after.
  bool force = false;
};

class Remote {
 public:
  Remote() = default;
  Remote(const Remote&) = delete;
  Remote& operator=(const Remote&) = delete;
  Remote(Remote&&) = delete;
  Remote& operator=(Remote&&) = delete;
  virtual ~Remote() = default;

  // "user@host", for messages.
  virtual std::string host_label() const = 0;
  // The far pgmigrate, as the command lines name it (target.h builds them).
  virtual std::string remote_bin() const = 0;
  // Whether transfers use the TLS data path (then preflight tries it: probe_tls).
  virtual bool uses_tls() const = 0;

  // Runs `command` there (a far pgmigrate command line; with `secrets`, `--options-stdin` is put
  // after its binary) and returns its stdout. A non-zero exit is an error naming why.
  virtual Result<std::string> run(const std::string& command, const Secrets& secrets, CancelToken& cancel) = 0;
  // A listener there and a TLS handshake from here, the way the transfers will.
  virtual Status probe_tls(const std::string& dataset, CancelToken& cancel) = 0;
  // Sends `p`; `position` follows the stream (about ten times a second) while it runs.
  // Returns the logical bytes sent.
  virtual Result<std::uint64_t> push(const Push& p, std::atomic<std::uint64_t>& position, CancelToken& cancel) = 0;
};

}  // namespace pgm::migrate
