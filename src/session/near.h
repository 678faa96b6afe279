// Internal to session/: what the near halves (push.cc, pull.cc) share: the far commands they
// start, the lanes (each its own connection, reconnecting with backoff) and the ways a
// transfer ends.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <semaphore>
#include <string>
#include <thread>
#include <vector>

#include "common/cancel.h"
#include "engine/lanes.h"
#include "pgmigrate/session.h"
#include "session/stage.h"
#include "transport/control.h"
#include "transport/tls.h"

namespace pgm::session {

// sshd drops unauthenticated connections beyond MaxStartups (10 by default): open at most
// this many at once.
constexpr std::ptrdiff_t kMaxConcurrentHandshakes = 8;

// Runs `REMOTE_BIN --version` through `conn` and refuses (Errc::unsupported, one line with the
// command that fixes it) a far pgmigrate whose version line is not ours: an older far half is
// otherwise discovered only by what it does not do.
Status check_far_version(transport::Connector& conn, const Remote& remote, const CancelToken& cancel);

// The far halves' command lines (`pgmigrate _serve recv|send ...`).
std::string serve_recv_command(const std::string& bin, const sink::SinkSpec& s, const TransferParams& t, const Remote& remote);
std::string serve_send_command(const std::string& bin, const source::SourceSpec& s, const TransferParams& t, const Remote& remote);

// Where the lanes go, known once the far half is ready: its lane socket (lanes through sshd
// run `_lane` against it) and, with --tls-port, its TLS port and this transfer's key. An
// empty socket: the transfer ended before the lanes could start.
struct LaneRoute {
  std::string socket;
  std::optional<transport::TlsKey> tls_key;
  int tls_port = 0;
};

// "over SSH" or "over TLS to host:port", for the log.
std::string describe_lanes(const LaneRoute& r, const Remote& remote);
// Where the far half's `ready` says the lanes go.
Result<LaneRoute> lane_route(const nlohmann::json& ready, const Remote& remote);

// The near lanes of one transfer (or push attempt): their threads, counters and first failure.
struct LaneSet {
  std::vector<std::thread> threads;
  std::vector<std::unique_ptr<engine::LaneCounters>> counters;
  std::atomic<unsigned> finished{0};
  std::atomic<unsigned> succeeded{0};
  std::atomic<bool> failed{false};
  std::atomic<std::uint64_t> drops{0};  // connections lost while the transfer ran
  std::atomic<std::uint64_t> reconnects{0};
  std::atomic<unsigned> up{0};           // lanes connected and carrying data now
  std::atomic<bool> tls_reached{false};  // a TLS lane has connected at least once
  // Cancelled when the transfer ends (join()) or its run is cancelled (linked by start_lanes):
  // lanes stop reconnecting, and a lane waiting out its backoff wakes at once.
  CancelToken over;
  std::optional<CancelLink> run_cancel_link;
  std::mutex mu;
  Status first_failure;
  void fail(Status s) {
    std::lock_guard<std::mutex> lock(mu);
    if (first_failure.ok()) first_failure = std::move(s);
    failed.store(true);
  }
  Status failure() {
    std::lock_guard<std::mutex> lock(mu);
    return first_failure;
  }
  ~LaneSet() { join(); }
  void join() {
    over.cancel(Status(Errc::interrupted, "the transfer ended"));
    for (auto& t : threads)
      if (t.joinable()) t.join();
  }
  std::vector<std::uint64_t> lane_bytes() const {
    std::vector<std::uint64_t> v;
    for (const auto& c : counters) v.push_back(c->wire_bytes.load());
    return v;
  }
};

// Errors another attempt may get past (a dropped connection), as against the user's to fix
// (authentication, host key, a missing binary, a bad argument).
bool transient(const Status& s);

// What a lane does when its connection fails: `on_drop` puts its unacknowledged chunks back
// (sender) and it reconnects with backoff until `reconnect_timeout` (zero: fail at once).
struct LanePolicy {
  std::chrono::milliseconds reconnect_timeout{0};
  std::function<void(unsigned lane)> on_drop;
};

// Starts `n` lanes, each opening its own connection and running `body` on its channel.
void start_lanes(LaneSet& lanes, unsigned n, const Remote& remote, const std::shared_future<LaneRoute>& route, CancelToken& cancel,
                 std::counting_semaphore<kMaxConcurrentHandshakes>& handshakes, const LanePolicy& policy,
                 const std::function<Status(transport::Channel&, unsigned lane, engine::LaneCounters&)>& body);

// What every near half's progress and watchdog read of its lanes (lane bytes, reconnects, lanes
// up), its session and what its silence means; each half adds its own activity.
// REQUIRES: `lanes` outlives the Movement's functions.
Movement lane_movement(LaneSet& lanes, const stream::SessionId& session, std::string idle);

// A data connection failed: give the far half a moment to say why on the control channel,
// since its reason (e.g. "zfs receive failed: out of space") is the one worth reporting.
Status settle_lane_failure(transport::ControlChannel& ctl, LaneSet& lanes, const Remote& remote);
// Said before a transfer starts, to the operator at a terminal (scripts read it in the docs):
// without resumable receive, only the receiving side's restart costs the whole transfer.
void warn_not_resumable(const std::string& where);
// Sends a final message, but never waits on a dead link for more than a few seconds.
void send_last_word(transport::ControlChannel& ctl, CancelToken& ctl_token, const nlohmann::json& message);
// The cancel's reason when a signal ended the transfer (or it ended with no error of its own).
Status interrupted_or(const CancelToken& cancel, Status s);

}  // namespace pgm::session
