// A transfer as a library: the near halves (push to a far pgmigrate, pull from one), the
// single-fd halves (a stream on a pipe) and the far halves that sshd starts (`_serve recv`,
// `_serve send`). Callers pass typed parameters and get a summary back; nothing here prints.
// Progress reaches the caller through an `Observer`. The control loop, the lanes and the
// protocol messages (docs/stream-format.md) are internal to this folder.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/cancel.h"
#include "pgmigrate/status.h"
#include "pgmigrate/stream_format.h"
#include "sink/sink.h"
#include "source/source.h"
#include "transport/channel.h"

namespace pgm::session {

// How a transfer chunks, compresses and bounds its memory (the caller resolves its flags).
struct TransferParams {
  std::uint32_t chunk_size = 0;
  int level = 0;
  int adaptive_max_level = 0;  // --compress auto
  stream::Codec codec = stream::Codec::zstd;
  unsigned workers = 1;
  std::size_t max_chunks = 0;  // chunks the memory bound allows in flight
  std::uint64_t max_memory = 0;
  std::chrono::milliseconds stall_timeout{0};  // zero: no stall watchdog
  // The sending half's cap on wire bytes, all lanes together (--rate; 0: none). A remote
  // transfer's sender takes changes while running (`pgmigrate rate`, session/rate_control.h).
  std::uint64_t rate = 0;
};

struct ProgressSample {
  std::uint64_t logical_bytes = 0;  // raw stream bytes so far
  std::uint64_t wire_bytes = 0;     // encoded bytes so far
  std::uint64_t chunks = 0;
  std::vector<std::uint64_t> lane_bytes;  // per connection, if more than one
  std::uint64_t drops = 0;                // data connections lost while the transfer ran (each may reconnect)
  std::uint64_t reconnects = 0;
  std::uint64_t resent_bytes = 0;
  std::uint64_t rate_limit = 0;      // the sender's cap in bytes per second now, 0: none (or not known)
  std::optional<unsigned> lanes_up;  // data connections carrying data now, where the lanes are ours
  std::string session;               // the session id (hex), where it names something (`pgmigrate rate`)
};

// What a caller hears while a transfer runs. Every method has a default that ignores it.
class Observer {
 public:
  virtual ~Observer() = default;
  // Data starts to move. `sample` reads the transfer's counters and is thread-safe; it may be
  // called from any thread until stopped() returns, never after. `estimate`: the logical size,
  // if known.
  virtual void started(const std::string& /*label*/, const std::function<ProgressSample()>& /*sample*/,
                       std::optional<std::uint64_t> /*estimate*/) {}
  // Data stopped moving (either way). Called once for each started().
  virtual void stopped() {}
  // A sending half's stream position (raw bytes), about ten times a second, on the thread
  // that runs the control loop.
  virtual void advanced(std::uint64_t /*logical_bytes*/) {}
};

// How a transfer ended when it succeeded.
struct TransferSummary {
  // Which half this summary is of: the one that sent the stream, or the one that received it
  // (a receiver verifies the digest; only a sender knows what it sent again).
  enum class Direction { sent, received };
  Direction direction = Direction::sent;
  std::uint64_t logical_bytes = 0;
  std::uint64_t wire_bytes = 0;
  double seconds = 0;
  std::string digest;
  std::string source;        // snapshot name from the stream
  std::string received;      // snapshot created on the target, if any
  std::string verification;  // "guid 123 matches the source" etc.
  std::string sizes;         // referenced sizes on both sides, if known
  // Data connections lost while the transfer ran. A drop need not cost a reconnect: the other
  // lanes may finish the transfer while the dropped one waits for the far half's verdict.
  std::uint64_t drops = 0;
  std::uint64_t reconnects = 0;
  std::uint64_t resent_bytes = 0;
  std::uint64_t resumed_chunks = 0;  // resumed: the receiver already had this many chunks
  std::uint64_t skipped_bytes = 0;   // and their bytes, regenerated and checked but not sent
};

// "pgmigrate VERSION (stream format N)": what --version prints, and what the near half of a
// transfer requires the far pgmigrate to print.
std::string version_line();

// Makes a new connection to the far host (one per lane, one for control).
using ConnectFn = std::function<Result<std::unique_ptr<transport::Connector>>(const CancelToken&)>;

// The far host and how to reach it.
struct Remote {
  ConnectFn connect;
  std::string remote_bin = "pgmigrate";
  unsigned streams = 8;
  std::string host_label;  // "user@host" for messages
  // The host's network name: the configuration's HostName for an alias (`db2` means nothing to
  // libpq or DNS), else the host as given. migrate's default standby conninfo uses it.
  std::string network_host;
  // Non-root logins: the far pgmigrate runs under this wrapper ("sudo -n", --sudo-cmd); empty
  // when it runs as the login user (root, or --no-sudo). Both are named in refusals.
  std::string elevation;
  std::string login_user;
  std::chrono::milliseconds reconnect_timeout{600'000};  // a dropped data connection is retried this long
  std::optional<std::uint64_t> inject_corrupt_chunk;     // testing aid (--inject-corrupt-chunk)
  std::chrono::milliseconds connect_timeout{30'000};
  // The optional TLS data path (--tls-port): the far half listens on tls_port (0: a free port
  // it picks) and the lanes dial tls_dial_host, at tls_dial_port or else the port it reports.
  std::optional<int> tls_port;
  std::string tls_dial_host;
  int tls_dial_port = 0;
};

// Local source, far sink. A lost control connection is retried (resuming the far receive)
// until remote.reconnect_timeout.
Result<TransferSummary> push(const source::SourceSpec& source_spec, const sink::SinkSpec& remote_sink, const TransferParams& t,
                             const Remote& remote, Observer& observer, CancelToken& cancel);
// Far source, local sink.
Result<TransferSummary> pull(const source::SourceSpec& requested_source, const sink::SinkSpec& sink_spec, const TransferParams& t,
                             const Remote& remote, Observer& observer, CancelToken& cancel);

// One ordered lane on a file descriptor (a pipe, a socket): `send ... -` and `recv - ...`.
// `fd_name` names the fd in messages ("stdout", "stdin").
Result<TransferSummary> send_to_fd(const source::SourceSpec& source_spec, int fd, const std::string& fd_name, const TransferParams& t,
                                   Observer& observer, CancelToken& cancel);
Result<TransferSummary> recv_from_fd(int fd, const std::string& fd_name, const sink::SinkSpec& sink_spec, const TransferParams& t,
                                     Observer& observer, CancelToken& cancel);

// The far halves: control on `control_in`/`control_out` (stdin/stdout under sshd), lanes
// attach through `_lane`. A receive whose sender goes away (killed, crashed, control
// connection lost) stays open for `wait_for_sender` so that the same send, run again, can
// resume it; zero: fail at once. With `tls`, lanes may also come as direct TLS connections
// (--tls-port; 0: any free port).
struct FarTls {
  int port = 0;
  // Only TLS connections from this address are taken (the near host, as $SSH_CONNECTION names
  // it); "" takes any (--tls-connect: the lanes may come through NAT or a port forward).
  std::string allow_from;
};
struct FarIo {
  int control_in = 0;
  int control_out = 1;
};
Status serve_recv(const sink::SinkSpec& spec, const TransferParams& t, std::chrono::milliseconds wait_for_sender,
                  const std::optional<FarTls>& tls, CancelToken& cancel, FarIo io = {});
Status serve_send(const source::SourceSpec& spec, const TransferParams& t, const std::optional<FarTls>& tls, CancelToken& cancel,
                  FarIo io = {});

}  // namespace pgm::session
