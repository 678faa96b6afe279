// `pgmigrate rate SESSION RATE`, on either host of a transfer: the request is a file
// <state dir>/<session>.rate holding the new cap in bytes per second, replaced atomically.
// Every process of that session on the host looks at it about once a second: a sending half
// sets its RateLimiter, a receiving half passes the request to its sender on the control
// channel (`set_rate`). A file rather than a socket, so that it works the same for halves
// that have no journal (the near half of a push or pull) and needs no listener.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "pgmigrate/status.h"

namespace pgm::session {

// The request file of `session_hex` in `state_dir`.
std::string rate_request_path(const std::string& state_dir, const std::string& session_hex);
// Writes a request (what `pgmigrate rate` does).
Status request_rate(const std::string& state_dir, const std::string& session_hex, std::uint64_t bytes_per_second);

class RateRequests {
 public:
  // Watches the request file of `session_hex` in this host's state directory
  // ($PGMIGRATE_STATE_DIR or the default; none: nothing is ever requested).
  explicit RateRequests(const std::string& session_hex);
  ~RateRequests();  // removes the request: the session is over on this host
  RateRequests(const RateRequests&) = delete;
  RateRequests& operator=(const RateRequests&) = delete;

  // A rate requested since the last call that returned one; reads the file at most once a
  // second. Not thread-safe: one thread (the control loop) polls.
  std::optional<std::uint64_t> poll();

 private:
  std::string path_;
  std::optional<std::uint64_t> last_;
  std::chrono::steady_clock::time_point next_look_{};
};

}  // namespace pgm::session
