// How data connections find the process that owns a transfer on the far host. Every SSH
// exec channel starts its own process; the data lanes run `pgmigrate _lane`, which hands
// its stdin and stdout (the channel's pipes from sshd) to the serving process over a Unix
// socket (SCM_RIGHTS) and then waits. The serving process reads and writes those pipes
// directly: no extra copy per lane, and each lane stays its own TCP connection.
//
// The socket lives in a 0700 directory owned by the user, and the server checks each
// peer's uid (SO_PEERCRED), so only the same user's processes can attach lanes.
#pragma once

#include <string>

#include "common/cancel.h"
#include "common/fd.h"
#include "pgmigrate/status.h"

namespace pgm::transport {

// $XDG_RUNTIME_DIR/pgmigrate or /tmp/pgmigrate-UID, created 0700 and checked to be ours.
Result<std::string> runtime_dir();

struct LaneFds {
  UniqueFd in;       // the lane's stdin: bytes from the far half
  UniqueFd out;      // the lane's stdout: bytes to the far half
  UniqueFd control;  // the connection to the waiting `_lane` process; closing it ends that process
  char kind = 'L';   // 'L' a data lane; 'C' a resuming sender's control connection
};

class LaneListener {
 public:
  // Listens on runtime_dir()/<name>.sock.
  static Result<LaneListener> listen(const std::string& name);
  LaneListener(LaneListener&&) noexcept = default;
  LaneListener& operator=(LaneListener&&) noexcept = default;
  ~LaneListener();

  const std::string& path() const { return path_; }
  // Waits up to timeout_ms for the next lane; Errc::timeout if none came.
  Result<LaneFds> accept(const CancelToken& cancel, int timeout_ms);

 private:
  LaneListener() = default;
  UniqueFd fd_;
  std::string path_;
};

// The `_lane` side: connect, pass `in` and `out` (fds 0 and 1 under sshd; the same socket
// for a far half run in-process), and wait until the server closes. Our copies become
// /dev/null at once, so that the peer sees EOF when the server closes its copies. `kind` is
// 'L' for a data lane, 'C' for a control connection handed to a waiting receiver.
Status attach_lane(const std::string& socket_path, char kind = 'L', int in = 0, int out = 1);

}  // namespace pgm::transport
