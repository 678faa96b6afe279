// The near halves' lanes and the far commands they start: shared by push and pull.
#include "session/near.h"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
#include <array>

#include "common/backoff.h"
#include "common/process.h"
#include "common/units.h"
#include "session/internal.h"
#include "transport/tcp_connect.h"

namespace pgm::session {

using nlohmann::json;
using std::chrono::milliseconds;

namespace {

std::string q(const std::string& s) { return shell_quote(s); }

std::string transfer_args(const TransferParams& t, const Remote& remote) {
  // The far half must outwait our reconnection attempts before its stall watchdog fires.
  auto stall =
      t.stall_timeout.count() == 0 ? t.stall_timeout : std::max(t.stall_timeout, remote.reconnect_timeout + std::chrono::seconds(30));
  return " --threads " + std::to_string(t.workers) + " --max-memory " + std::to_string(t.max_memory) + " --chunk-size " +
         std::to_string(t.chunk_size) + " --compress " +
         (t.level == 0               ? std::string("none")
          : t.adaptive_max_level > 0 ? std::string("auto")
                                     : std::to_string(t.level)) +
         " --stall-timeout " + (stall.count() == 0 ? std::string("0") : std::to_string(stall.count()) + "ms") +
         (t.rate != 0 ? " --rate " + std::to_string(t.rate) : std::string());
}

}  // namespace

std::string version_line() {
  return std::string("pgmigrate ") + PGM_VERSION + " (stream format " + std::to_string(stream::kFormatVersion) + ")";
}

namespace {

// `scp THIS_BINARY host:PATH`, the fix for a far binary of another version.
std::string copy_command(const transport::Connector& conn, const Remote& remote) {
  std::string self = "pgmigrate";
  std::array<char, 4096> buf{};
  if (ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1); n > 0) self.assign(buf.data(), static_cast<std::size_t>(n));
  // The port from the connection ("host:port"), the user and host as the command line named them.
  const std::string conn_name = conn.describe();
  std::string port;
  if (auto colon = conn_name.rfind(':'); colon != std::string::npos) port = conn_name.substr(colon + 1);
  if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos || port == "22") port.clear();
  const std::string dest = remote.remote_bin.find('/') != std::string::npos ? remote.remote_bin : "/usr/local/bin/pgmigrate";
  return "scp " + (port.empty() ? std::string() : "-P " + port + " ") + q(self) + " " + remote.host_label + ":" + q(dest);
}

}  // namespace

Status check_far_version(transport::Connector& conn, const Remote& remote, const CancelToken& cancel) {
  auto ch = conn.exec(q(remote.remote_bin) + " --version", cancel);
  if (!ch) return ch.status();
  (void)(*ch)->send_eof();
  std::string out;
  std::array<std::uint8_t, 1024> buf{};
  const auto deadline = std::chrono::steady_clock::now() + remote.connect_timeout;
  while (!(*ch)->eof() && out.size() < 4096) {
    if (std::chrono::steady_clock::now() >= deadline)
      return Status(Errc::timeout, "'" + remote.remote_bin + " --version' on " + remote.host_label + " did not answer");
    auto n = (*ch)->read_some(buf, milliseconds(200));
    if (!n) return n.status();
    out.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
  auto code = (*ch)->wait_exit();
  if (!code || *code != 0)
    return explain_far_exit(**ch, remote,
                            Status(Errc::unsupported, "'" + remote.remote_bin + " --version' failed on " + remote.host_label));
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ')) out.pop_back();
  if (out == version_line()) return Status::Ok();
  return Status(Errc::unsupported, remote.host_label + " runs '" + out.substr(0, 200) + "', this host '" + version_line() +
                                       "': install the same version there (" + copy_command(conn, remote) +
                                       ", or the same .deb), or pass --remote-bin PATH to a matching pgmigrate there");
}

std::string serve_recv_command(const std::string& bin, const sink::SinkSpec& s, const TransferParams& t, const Remote& remote) {
  std::string cmd = q(bin) + " _serve recv";
  if (!s.target.empty()) cmd += " --target " + q(s.target);
  if (s.flags.force) cmd += " -F";
  for (const auto& word : recv_flag_words(s.flags)) cmd.append(" ").append(q(word));
  if (!s.recv_cmd.empty()) cmd += " --recv-cmd " + q(s.recv_cmd);
  cmd += " --reconnect-timeout " + std::to_string(remote.reconnect_timeout.count()) + "ms";
  if (remote.tls_port) cmd += " --tls-port " + std::to_string(*remote.tls_port) + (remote.tls_dial_port != 0 ? " --tls-any-peer" : "");
  return cmd + transfer_args(t, remote);
}

std::string serve_send_command(const std::string& bin, const source::SourceSpec& s, const TransferParams& t, const Remote& remote) {
  std::string cmd = q(bin) + " _serve send";
  if (!s.snapshot.empty()) cmd += " --snapshot " + q(s.snapshot);
  if (s.flags.incremental) cmd += " -i " + q(*s.flags.incremental);
  if (s.flags.intermediate) cmd += " -I " + q(*s.flags.intermediate);
  if (s.flags.replicate) cmd += " -R";
  if (s.flags.props) cmd += " -p";
  for (const auto& [on, flag] : {std::pair{s.flags.raw, " -w"}, std::pair{s.flags.compressed, " -c"},
                                 std::pair{s.flags.large_blocks, " -L"}, std::pair{s.flags.embedded, " -e"}})
    if (on) cmd += flag;
  if (!s.send_cmd.empty()) cmd += " --send-cmd " + q(s.send_cmd);
  if (!s.resume_token.empty()) cmd += " --resume-token " + q(s.resume_token);
  if (remote.tls_port) cmd += " --tls-port " + std::to_string(*remote.tls_port) + (remote.tls_dial_port != 0 ? " --tls-any-peer" : "");
  return cmd + transfer_args(t, remote);
}

std::string describe_lanes(const LaneRoute& r, const Remote& remote) {
  return r.tls_key ? "over TLS to " + transport::host_port(remote.tls_dial_host, r.tls_port) : "over SSH";
}

Result<LaneRoute> lane_route(const json& ready, const Remote& remote) {
  LaneRoute r;
  r.socket = transport::json_string(ready, "socket");
  if (r.socket.empty()) return Status(Errc::protocol, "the far half did not say where its data connections go");
  if (!remote.tls_port) return r;
  if (!ready.contains("tls") || !ready["tls"].is_object())
    return Status(Errc::unsupported, "the far half on " + remote.host_label +
                                         " offered no TLS data path (an older pgmigrate there, or a transfer being resumed that "
                                         "started without --tls-port: rerun without it)");
  auto key = transport::TlsKey::from_hex(transport::json_string(ready["tls"], "key"));
  if (!key) return key.status();
  r.tls_key = *key;
  r.tls_port = remote.tls_dial_port != 0 ? remote.tls_dial_port : static_cast<int>(transport::json_u64(ready["tls"], "port", 0));
  return r;
}

bool transient(const Status& s) {
  switch (s.code()) {
    case Errc::auth:
    case Errc::host_key:
    case Errc::not_found:
    case Errc::invalid_argument:
    case Errc::unsupported: return false;
    default: return true;
  }
}

namespace {

using LaneBody = std::function<Status(transport::Channel&, unsigned lane, engine::LaneCounters&)>;

// Waits (in 50 ms steps) until the far half has said where the lanes go, or the transfer
// ended. True: the lanes may go there.
bool route_known(const std::shared_future<LaneRoute>& route, const LaneSet& lanes, const CancelToken& cancel) {
  while (route.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready)
    if (cancel.cancelled() || lanes.over.cancelled()) break;
  return route.wait_for(std::chrono::seconds(0)) == std::future_status::ready && !route.get().socket.empty();
}

// How one connection of a lane went.
struct LaneAttempt {
  Status status;
  bool unreachable = false;  // the TLS port never answered: a firewall, not an outage
  bool ended = false;        // the transfer ended (or never started) before the lane could go
};

// A direct TLS lane to the far half's port.
Result<std::unique_ptr<transport::Channel>> open_tls_lane(LaneSet& lanes, const Remote& remote, const LaneRoute& r, CancelToken& cancel,
                                                          bool& unreachable) {
  bool tcp_connected = false;
  auto tls = transport::tls_connect(remote.tls_dial_host, r.tls_port, *r.tls_key, std::chrono::steady_clock::now() + remote.connect_timeout,
                                    cancel, &tcp_connected);
  if (tcp_connected) lanes.tls_reached.store(true);
  if (tls) return std::unique_ptr<transport::Channel>(std::move(*tls));
  Status s = tls.status();
  // Fail fast only while no lane has ever reached the port (a firewall, a wrong
  // port). A connection the far half took and dropped (its handshake slots full of
  // strangers, say) is retried like any lane, instead of ending the transfer.
  unreachable = !lanes.tls_reached.load() && s.code() != Errc::interrupted;
  if (unreachable) s = Status(s.code(), s.message() + " (is that port reachable from here? see --tls-port, --tls-connect)");
  return s;
}

// One connection of lane `i`: log in (SSH lanes), wait for the route, open the channel, carry
// data with `body`, and close it the way the far end expects.
LaneAttempt lane_attempt(LaneSet& lanes, unsigned i, const Remote& remote, const std::shared_future<LaneRoute>& route, CancelToken& cancel,
                         std::counting_semaphore<kMaxConcurrentHandshakes>& handshakes, const LaneBody& body) {
  LaneAttempt a;
  Status& s = a.status;
  std::unique_ptr<transport::Connector> conn;
  std::unique_ptr<transport::Channel> ch;
  if (!remote.tls_port) {
    handshakes.acquire();
    auto c = remote.connect(cancel);
    handshakes.release();
    if (c) conn = std::move(*c);
    else s = c.status();
  }
  // Logged in (TLS lanes log in to nothing); the far half may still be starting (the
  // control connection runs in parallel): wait for where the lanes go.
  if (s.ok() && !route_known(route, lanes, cancel)) {
    a.ended = true;
    return a;
  }
  if (s.ok() && remote.tls_port) {
    auto tls = open_tls_lane(lanes, remote, route.get(), cancel, a.unreachable);
    if (tls) ch = std::move(*tls);
    else s = tls.status();
  } else if (s.ok()) {
    auto e = conn->exec(q(remote.remote_bin) + " _lane --socket " + q(route.get().socket), cancel);
    if (e) ch = std::move(*e);
    else s = e.status();
  }
  if (s.ok()) {
    lanes.up.fetch_add(1);
    s = body(*ch, i, *lanes.counters[i]);
    lanes.up.fetch_sub(1);
  }
  if (ch) {
    (void)ch->send_eof();
    // Wait for the far end to close: closing a TCP socket that still has unread input
    // sends a reset, and the peer may then drop data it has not yet read.
    if (s.ok()) {
      auto code = ch->wait_exit();
      if (!code) s = code.status();
    }
    if (!s.ok()) {
      std::string err = ch->stderr_text();
      if (!err.empty()) s = s.context(err);
    }
  }
  return a;
}

// How long a lane whose connection dropped waits for the far half's own account of the end
// (on the control connection) before it reconnects and warns.
constexpr std::chrono::seconds kFarVerdictGrace(2);

// Lane `i`'s thread: connections one after the other until the data is through, the transfer
// ends, or the lane gives up (then the main loop hears of it through lanes.fail()).
void run_lane(LaneSet& lanes, unsigned i, const Remote& remote, const std::shared_future<LaneRoute>& route, CancelToken& cancel,
              std::counting_semaphore<kMaxConcurrentHandshakes>& handshakes, const LanePolicy& policy, const LaneBody& body) {
  // The end of the current outage's allowance; max(): no outage yet. (Not an optional: g++'s
  // -O1 of the TSan build takes the deref below for a read of an unset one.)
  constexpr auto kNoOutage = std::chrono::steady_clock::time_point::max();
  std::chrono::steady_clock::time_point give_up = kNoOutage;
  Backoff backoff(std::chrono::milliseconds(250), std::chrono::milliseconds(8000));
  for (;;) {
    const std::uint64_t frames_before = lanes.counters[i]->frames.load();
    LaneAttempt a = lane_attempt(lanes, i, remote, route, cancel, handshakes, body);
    if (a.ended) break;
    Status s = a.status;
    if (s.ok()) {
      lanes.succeeded.fetch_add(1);
      break;
    }
    // A lane that connects after the transfer ended (or fails then) has nothing to do.
    if (cancel.cancelled() || lanes.over.cancelled()) break;
    s = s.context("data connection " + std::to_string(i));
    if (lanes.counters[i]->frames.load() != frames_before) {
      give_up = kNoOutage;  // it had been working: a fresh outage, a fresh allowance
      backoff.reset();
    }
    const auto now = std::chrono::steady_clock::now();
    const bool outage_starts = give_up == kNoOutage;
    if (outage_starts) give_up = now + policy.reconnect_timeout;
    if (!transient(s) || a.unreachable || policy.reconnect_timeout.count() == 0 || now >= give_up) {
      // Not a cancellation yet: the far half usually knows why (its zfs receive failed,
      // say) and says so on the control channel; the main loop decides.
      lanes.fail(
          policy.reconnect_timeout.count() > 0 && transient(s) && !a.unreachable
              ? s.context("gave up reconnecting after " + format_duration(std::chrono::duration<double>(policy.reconnect_timeout).count()))
              : s);
      break;
    }
    // Until the control connection is up the session may never start (a wrong port, say):
    // then its error is the one to report, and a lane's "reconnecting" would be noise.
    if (!route_known(route, lanes, cancel) || cancel.cancelled() || lanes.over.cancelled()) break;
    // The dropped lane's unacknowledged chunks go back to the others at once, grace or not: a
    // push must not stall on a dead lane while it waits (harmless if the far half failed).
    lanes.drops.fetch_add(1);
    if (policy.on_drop) policy.on_drop(i);
    // A far half that fails (its zfs receive refuses the stream, say) closes the lanes and says
    // why on the control connection; the lanes often notice first. Give that verdict a moment to
    // arrive before calling the drop an outage, so that the user reads the one line that
    // explains the end, not "reconnecting" noise before it. A quarter of the allowance at most,
    // so a short --reconnect-timeout still leaves room to reconnect.
    if (outage_starts) {
      (void)lanes.over.wait_for(std::min<std::chrono::steady_clock::duration>(kFarVerdictGrace, policy.reconnect_timeout / 4));
      if (lanes.over.cancelled()) break;
    }
    lanes.reconnects.fetch_add(1);
    spdlog::warn("{}; reconnecting", s.message());
    // Backoff: jittered under a ceiling of 0.25 s doubling to 8 s, so that lanes dropped by one
    // outage do not come back in step; the transfer's end or a cancel wakes it at once.
    auto pause = backoff.next();
    if (!pause) {
      lanes.fail(pause.status().context("data connection " + std::to_string(i)));
      break;
    }
    (void)lanes.over.wait_for(std::min<std::chrono::steady_clock::duration>(*pause, give_up - std::chrono::steady_clock::now()));
    if (lanes.over.cancelled()) break;
  }
  lanes.finished.fetch_add(1);
}

}  // namespace

void start_lanes(LaneSet& lanes, unsigned n, const Remote& remote, const std::shared_future<LaneRoute>& route, CancelToken& cancel,
                 std::counting_semaphore<kMaxConcurrentHandshakes>& handshakes, const LanePolicy& policy, const LaneBody& body) {
  lanes.run_cancel_link.emplace(cancel, lanes.over);
  for (unsigned i = 0; i < n; ++i) lanes.counters.push_back(std::make_unique<engine::LaneCounters>());
  for (unsigned i = 0; i < n; ++i) {
    lanes.threads.emplace_back([&lanes, &remote, &route, &cancel, &handshakes, i, body, policy] {
      run_lane(lanes, i, remote, route, cancel, handshakes, policy, body);
    });
  }
}

Movement lane_movement(LaneSet& lanes, const stream::SessionId& session, std::string idle) {
  Movement movement;
  movement.lane_bytes = [&lanes] { return lanes.lane_bytes(); };
  movement.drops = [&lanes] { return lanes.drops.load(); };
  movement.reconnects = [&lanes] { return lanes.reconnects.load(); };
  movement.lanes_up = [&lanes] { return lanes.up.load(); };
  movement.session = stream::to_hex(session);
  movement.idle = std::move(idle);
  return movement;
}

Status settle_lane_failure(transport::ControlChannel& ctl, LaneSet& lanes, const Remote& remote) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (std::chrono::steady_clock::now() < deadline) {
    auto m = ctl.receive(kTick);
    if (!m) break;
    if (*m && transport::json_string(**m, "type") == "error") return transport::status_from_message(**m).context("on " + remote.host_label);
  }
  return lanes.failure();
}

void warn_not_resumable(const std::string& where) {
  if (::isatty(2) == 0) return;
  spdlog::warn(
      "zfs on {} cannot keep an interrupted receive (no 'zfs receive -s', e.g. zfs-fuse): if the receiving side restarts, "
      "this transfer starts over; dropped connections and a restarted sender still resume",
      where);
}

void send_last_word(transport::ControlChannel& ctl, CancelToken& ctl_token, const json& message) {
  auto sent = std::async(std::launch::async, [&] { return ctl.send(message); });
  if (sent.wait_for(std::chrono::seconds(5)) != std::future_status::ready) ctl_token.cancel(Status(Errc::timeout, "control channel stuck"));
  (void)sent.get();
}

Status interrupted_or(const CancelToken& cancel, Status s) {
  if (cancel.cancelled() && cancel.reason().code() == Errc::interrupted) return cancel.reason();
  if (cancel.cancelled() && s.ok()) return cancel.reason();
  return s;
}

}  // namespace pgm::session
