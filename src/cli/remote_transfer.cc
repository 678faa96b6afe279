#include "cli/remote_transfer.h"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <future>
#include <semaphore>
#include <thread>

#include "cli/control_loop.h"
#include "cli/progress.h"
#include "cli/remote_internal.h"
#include "cli/summary.h"
#include "common/units.h"
#include "engine/dispatcher.h"
#include "engine/lanes.h"
#include "engine/watchdog.h"
#include "transport/control.h"
#include "transport/lane_socket.h"
#include "transport/tcp_connect.h"
#include "zfs/zfs.h"

namespace pgm::cli {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
// sshd drops unauthenticated connections beyond MaxStartups (10 by default): open at most
// this many at once.
constexpr std::ptrdiff_t kMaxConcurrentHandshakes = 8;

std::string q(const std::string& s) { return shell_quote(s); }

std::string transfer_args(const ResolvedTransfer& t, const RemoteOptions& remote) {
  // The far half must outwait our reconnection attempts before its stall watchdog fires.
  auto stall =
      t.stall_timeout.count() == 0 ? t.stall_timeout : std::max(t.stall_timeout, remote.reconnect_timeout + std::chrono::seconds(30));
  return " --threads " + std::to_string(t.workers) + " --max-memory " + std::to_string(t.max_memory) + " --chunk-size " +
         std::to_string(t.chunk_size) + " --compress " +
         (t.level == 0               ? std::string("none")
          : t.adaptive_max_level > 0 ? std::string("auto")
                                     : std::to_string(t.level)) +
         " --stall-timeout " + (stall.count() == 0 ? std::string("0") : std::to_string(stall.count()) + "ms");
}

std::string serve_recv_command(const std::string& bin, const sink::SinkSpec& s, const ResolvedTransfer& t, const RemoteOptions& remote) {
  std::string cmd = q(bin) + " _serve recv";
  if (!s.target.empty()) cmd += " --target " + q(s.target);
  if (s.flags.force) cmd += " -F";
  if (!s.recv_cmd.empty()) cmd += " --recv-cmd " + q(s.recv_cmd);
  cmd += " --reconnect-timeout " + std::to_string(remote.reconnect_timeout.count()) + "ms";
  if (remote.tls_port) cmd += " --tls-port " + std::to_string(*remote.tls_port) + (remote.tls_dial_port != 0 ? " --tls-any-peer" : "");
  return cmd + transfer_args(t, remote);
}

std::string serve_send_command(const std::string& bin, const source::SourceSpec& s, const ResolvedTransfer& t,
                               const RemoteOptions& remote) {
  std::string cmd = q(bin) + " _serve send";
  if (!s.snapshot.empty()) cmd += " --snapshot " + q(s.snapshot);
  if (s.flags.incremental) cmd += " -i " + q(*s.flags.incremental);
  if (s.flags.intermediate) cmd += " -I " + q(*s.flags.intermediate);
  if (s.flags.replicate) cmd += " -R";
  if (s.flags.props) cmd += " -p";
  if (!s.send_cmd.empty()) cmd += " --send-cmd " + q(s.send_cmd);
  if (!s.resume_token.empty()) cmd += " --resume-token " + q(s.resume_token);
  if (remote.tls_port) cmd += " --tls-port " + std::to_string(*remote.tls_port) + (remote.tls_dial_port != 0 ? " --tls-any-peer" : "");
  return cmd + transfer_args(t, remote);
}

// Where the lanes go, known once the far half is ready: its lane socket (lanes through sshd
// run `_lane` against it) and, with --tls-port, its TLS port and this transfer's key. An
// empty socket: the transfer ended before the lanes could start.
struct LaneRoute {
  std::string socket;
  std::optional<transport::TlsKey> tls_key;
  int tls_port = 0;
};

// "over SSH" or "over TLS to host:port", for the log.
std::string describe_lanes(const LaneRoute& r, const RemoteOptions& remote) {
  return r.tls_key ? "over TLS to " + transport::host_port(remote.tls_dial_host, r.tls_port) : "over SSH";
}

Result<LaneRoute> lane_route(const json& ready, const RemoteOptions& remote) {
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

struct LaneSet {
  std::vector<std::thread> threads;
  std::vector<std::unique_ptr<engine::LaneCounters>> counters;
  std::atomic<unsigned> finished{0};
  std::atomic<unsigned> succeeded{0};
  std::atomic<bool> failed{false};
  std::atomic<std::uint64_t> reconnects{0};
  std::atomic<bool> over{false};         // the transfer ended: lanes stop reconnecting
  std::atomic<bool> tls_reached{false};  // a TLS lane has connected at least once
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
    over.store(true);
    for (auto& t : threads)
      if (t.joinable()) t.join();
  }
  std::vector<std::uint64_t> lane_bytes() const {
    std::vector<std::uint64_t> v;
    for (const auto& c : counters) v.push_back(c->wire_bytes.load());
    return v;
  }
};

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

// What a lane does when its connection fails: `on_drop` puts its unacknowledged chunks back
// (sender) and it reconnects with backoff until `reconnect_timeout` (zero: fail at once).
struct LanePolicy {
  std::chrono::milliseconds reconnect_timeout{0};
  std::function<void(unsigned lane)> on_drop;
};

// Starts `n` lanes, each opening its own connection and running `body` on its channel.
void start_lanes(LaneSet& lanes, unsigned n, const RemoteOptions& remote, const std::shared_future<LaneRoute>& route, CancelToken& cancel,
                 std::counting_semaphore<kMaxConcurrentHandshakes>& handshakes, const LanePolicy& policy,
                 const std::function<Status(transport::Channel&, unsigned lane, engine::LaneCounters&)>& body) {
  for (unsigned i = 0; i < n; ++i) lanes.counters.push_back(std::make_unique<engine::LaneCounters>());
  for (unsigned i = 0; i < n; ++i) {
    lanes.threads.emplace_back([&, i, body, policy] {
      std::optional<std::chrono::steady_clock::time_point> give_up;
      for (unsigned attempt = 0;; ++attempt) {
        Status s;
        bool unreachable = false;  // the TLS port never answered: a firewall, not an outage
        const std::uint64_t frames_before = lanes.counters[i]->frames.load();
        {
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
          while (s.ok() && route.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
            if (cancel.cancelled() || lanes.over.load()) break;
          }
          const bool go = route.wait_for(std::chrono::seconds(0)) == std::future_status::ready && !route.get().socket.empty();
          if (s.ok() && !go) break;  // the transfer ended (or never started)
          if (s.ok() && remote.tls_port) {
            const LaneRoute& r = route.get();
            bool tcp_connected = false;
            auto tls = transport::tls_connect(remote.tls_dial_host, r.tls_port, *r.tls_key,
                                              std::chrono::steady_clock::now() + remote.connect_timeout, cancel, &tcp_connected);
            if (tcp_connected) lanes.tls_reached.store(true);
            if (tls) {
              ch = std::move(*tls);
            } else {
              s = tls.status();
              // Fail fast only while no lane has ever reached the port (a firewall, a wrong
              // port). A connection the far half took and dropped (its handshake slots full of
              // strangers, say) is retried like any lane, instead of ending the transfer.
              unreachable = !lanes.tls_reached.load() && s.code() != Errc::interrupted;
              if (unreachable) s = Status(s.code(), s.message() + " (is that port reachable from here? see --tls-port, --tls-connect)");
            }
          } else if (s.ok()) {
            auto e = conn->exec(q(remote.remote_bin) + " _lane --socket " + q(route.get().socket), cancel);
            if (e) ch = std::move(*e);
            else s = e.status();
          }
          if (s.ok()) s = body(*ch, i, *lanes.counters[i]);
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
        }
        if (s.ok()) {
          lanes.succeeded.fetch_add(1);
          break;
        }
        // A lane that connects after the transfer ended (or fails then) has nothing to do.
        if (cancel.cancelled() || lanes.over.load()) break;
        s = s.context("data connection " + std::to_string(i));
        if (lanes.counters[i]->frames.load() != frames_before) {
          give_up.reset();  // it had been working: a fresh outage, a fresh allowance
          attempt = 0;
        }
        const auto now = std::chrono::steady_clock::now();
        if (!give_up) give_up = now + policy.reconnect_timeout;
        if (!transient(s) || unreachable || policy.reconnect_timeout.count() == 0 || now >= *give_up) {
          // Not a cancellation yet: the far half usually knows why (its zfs receive failed,
          // say) and says so on the control channel; the main loop decides.
          lanes.fail(policy.reconnect_timeout.count() > 0 && transient(s) && !unreachable
                         ? s.context("gave up reconnecting after " +
                                     format_duration(std::chrono::duration<double>(policy.reconnect_timeout).count()))
                         : s);
          break;
        }
        // Until the control connection is up the session may never start (a wrong port, say):
        // then its error is the one to report, and a lane's "reconnecting" would be noise.
        while (route.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready)
          if (cancel.cancelled() || lanes.over.load()) break;
        if (cancel.cancelled() || lanes.over.load() || route.wait_for(std::chrono::seconds(0)) != std::future_status::ready ||
            route.get().socket.empty())
          break;
        if (policy.on_drop) policy.on_drop(i);
        lanes.reconnects.fetch_add(1);
        spdlog::warn("{}; reconnecting", s.message());
        // Backoff: 0.25 s doubling to 8 s, cancellable.
        auto pause = std::chrono::milliseconds(250) * (1u << std::min(attempt, 5u));
        auto until = std::min(std::chrono::steady_clock::now() + pause, *give_up);
        while (std::chrono::steady_clock::now() < until && !cancel.cancelled() && !lanes.over.load())
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (lanes.over.load()) break;
        if (attempt > 20) attempt = 5;  // keep the shift bounded
      }
      lanes.finished.fetch_add(1);
    });
  }
}

// A data connection failed: give the far half a moment to say why on the control channel,
// since its reason (e.g. "zfs receive failed: out of space") is the one worth reporting.
Status settle_lane_failure(transport::ControlChannel& ctl, LaneSet& lanes, const RemoteOptions& remote) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (std::chrono::steady_clock::now() < deadline) {
    auto m = ctl.receive(kTick);
    if (!m) break;
    if (*m && transport::json_string(**m, "type") == "error") return transport::status_from_message(**m).context("on " + remote.host_label);
  }
  return lanes.failure();
}

// Said before a transfer starts, to the operator at a terminal (scripts read it in the docs):
// without resumable receive, only the receiving side's restart costs the whole transfer.
void warn_not_resumable(const std::string& where) {
  if (::isatty(2) == 0) return;
  spdlog::warn(
      "zfs on {} cannot keep an interrupted receive (no 'zfs receive -s', e.g. zfs-fuse): if the receiving side restarts, "
      "this transfer starts over; dropped connections and a restarted sender still resume",
      where);
}

// Sends a final message, but never waits on a dead link for more than a few seconds.
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

}  // namespace

// ---------------------------------------------------------------------------------------
// Push: local source, remote sink.

namespace {

// How an attempt at a push ended when it did not succeed.
enum class AttemptEnd {
  failed,       // the far half (or this side) reported an error: retrying cannot help
  unreachable,  // no connection to the host: part of an outage once one has begun
  lost,         // the control connection broke after the far half started (or may have):
                // the far half keeps its receive open, and another attempt re-attaches
};

// One attempt at a push. Every attempt presents the same `session` id, so that a far half
// that has not yet seen its old control connection close knows the sender that comes back.
Status push_attempt(RunContext& ctx, const source::SourceSpec& source_spec, const sink::SinkSpec& remote_sink, const ResolvedTransfer& t,
                    const TransferOptions& topts, const RemoteOptions& remote, const stream::SessionId& session, AttemptEnd& end) {
  CancelToken cancel;  // this attempt's; a signal reaches it through the link
  CancelLink link(ctx.cancel, cancel);
  end = AttemptEnd::failed;
  auto src = source::open_source(source_spec);
  if (!src) return src.status();
  stream::StreamHeader header = new_stream_header(t, *src);
  header.session_id = session;

  engine::SendPipeline pipeline(send_options(t), src->fd(), cancel);
  engine::CreditGate gate(4);  // until the far half says its window
  engine::ChunkDispatcher dispatcher(pipeline, gate);
  if (remote.inject_corrupt_chunk) dispatcher.inject_corruption(*remote.inject_corrupt_chunk);
  std::promise<LaneRoute> route_promise;
  std::shared_future<LaneRoute> route = route_promise.get_future().share();
  LaneSet lanes;
  // Data connections log in while the control connection starts the far half: at 60 ms
  // RTT each SSH login costs over a second, so doing them one after the other would cost
  // much of a small transfer.
  std::counting_semaphore<kMaxConcurrentHandshakes> handshakes(kMaxConcurrentHandshakes);
  LanePolicy policy{remote.reconnect_timeout, [&](unsigned lane) { dispatcher.lane_failed(static_cast<int>(lane)); }};
  start_lanes(lanes, remote.streams, remote, route, cancel, handshakes, policy,
              [&](transport::Channel& ch, unsigned lane, engine::LaneCounters& c) {
                return engine::run_dispatched_lane(dispatcher, static_cast<int>(lane), header, ch, c, cancel);
              });
  auto abandon = [&](Status why) {
    route_promise.set_value(LaneRoute{});
    lanes.join();
    src->process->terminate();
    return why;
  };

  // The control connection has its own token: when the run is cancelled (a signal, a
  // failure) the last message, the error, must still reach the far half, or it would take
  // the silence for a lost sender and wait for it (see serve_recv).
  CancelToken ctl_token;
  auto conn = remote.connect(ctl_token);
  if (!conn) {
    end = AttemptEnd::unreachable;
    return abandon(conn.status());
  }
  auto ctl_ch = (*conn)->exec(serve_recv_command(remote.remote_bin, remote_sink, t, remote), ctl_token);
  if (!ctl_ch) {
    // Logged in, then lost: the far half may have started. Not the user's mistake.
    if (transient(ctl_ch.status())) end = AttemptEnd::lost;
    return abandon(ctl_ch.status());
  }
  transport::ChannelControlIo io(**ctl_ch);
  transport::ControlChannel ctl(io);
  json hello{{"type", "header"}, {"hex", transport::header_to_hex(header)}};
  if (src->estimated_size) hello["estimate"] = *src->estimated_size;  // for the far journal (pgmigrate status)
  Status s = ctl.send(hello);
  auto ready = s.ok() ? ctl.expect_one_of({"ready", "resume_token", "result"}, kHandshakeTimeout, cancel) : Result<json>(s);
  if (ready && transport::json_string(*ready, "type") == "resume_token") {
    // The target kept an interrupted receive of this snapshot (OpenZFS zfs receive -s): send
    // only the rest of that stream, from a new producer.
    const std::string token = transport::json_string(*ready, "token");
    spdlog::warn("{} holds a partial receive of this snapshot (its receive_resume_token): sending only the rest", remote.host_label);
    source::SourceSpec resumed = source_spec;
    resumed.resume_token = token;
    auto again = source_spec.send_cmd.empty() ? source::open_source(resumed)
                                              : Result<source::Source>(Status(Errc::unsupported, "--send-cmd cannot resume a zfs receive"));
    if (!again) {
      (void)ctl.send(transport::message_from_status(again.status()));
      return abandon(again.status());
    }
    src->process->terminate();
    *src = std::move(*again);
    header = new_stream_header(t, *src);
    header.session_id = session;
    pipeline.set_source_fd(src->fd());
    s = ctl.send(json{{"type", "header"}, {"hex", transport::header_to_hex(header)}, {"resume_token", token}});
    ready = s.ok() ? ctl.expect("ready", kHandshakeTimeout, cancel) : Result<json>(s);
  }
  if (!ready) {
    Status why = ready.status();
    // The channel closed during the handshake. With an exit status the far command ended
    // (not installed, refused, failed): its reason is the answer. Without one the connection
    // broke: the far half may already hold a receive (and waits for us, see serve_recv), or
    // may never have started one; another attempt finds out.
    if (ctl.lost() && !cancel.cancelled() && !(*ctl_ch)->wait_exit().ok()) {
      end = AttemptEnd::lost;
      return abandon(why);
    }
    if (why.code() == Errc::timeout && !cancel.cancelled()) end = AttemptEnd::lost;  // a link that went silent
    if (why.code() == Errc::network || why.code() == Errc::io) why = explain_far_exit(**ctl_ch, remote.host_label, remote.remote_bin, why);
    return abandon(why);
  }
  if (transport::json_string(*ready, "type") == "result") {
    // The target already holds this snapshot (an earlier attempt finished but its answer was
    // lost, or this send is run again): nothing to send.
    (void)abandon(Status::Ok());
    TransferSummary sum;
    sum.verb = "sent";
    sum.source = src->snapshot_name;
    sum.verification = "already on " + remote.host_label + ": '" + transport::json_string(*ready, "received") + "' has the source's guid " +
                       std::to_string(header.snapshot_guid) + "; nothing was sent";
    if (remote.summary_out != nullptr) *remote.summary_out = sum;
    print_summary(sum, ctx.global.quiet);
    return Status::Ok();
  }
  const std::uint64_t window = transport::json_u64(*ready, "window", 4);
  gate.set_window(window);
  std::uint64_t resumed_chunks = 0;
  if ((*ready).contains("resume")) {
    // The far half kept the receive open after an earlier attempt: regenerate the stream,
    // check what it already has against its journal, and send only the rest.
    auto point = transport::resume_from_json((*ready)["resume"]);
    if (!point) return abandon(point.status());
    if (point->header.chunk_size != header.chunk_size || point->header.snapshot_guid != header.snapshot_guid)
      return abandon(Status(Errc::protocol, "the waiting receiver's stream does not match this one"));
    header = point->header;  // its session: the lanes present it (they start below)
    resumed_chunks = point->chunks;
    pipeline.resume_from(point->chunks, point->digest);
    gate.acknowledge(point->chunks);
    dispatcher.acknowledge(point->chunks);
    spdlog::warn("resuming session {} on {}: it already has {} chunks ({}); regenerating and checking them, then sending the rest",
                 stream::to_hex(header.session_id), remote.host_label, point->chunks, format_bytes(static_cast<double>(point->bytes)));
  }
  auto lanes_go = lane_route(*ready, remote);
  if (!lanes_go) {
    // A waiting receiver that took us over would take an error for the end of its transfer and
    // discard it: just go, and it waits on for a sender that can resume it.
    if (!(*ready).contains("resume")) (void)ctl.send(transport::message_from_status(lanes_go.status()));
    return abandon(lanes_go.status());
  }
  if ((*ready).contains("resumable_receive") && !transport::json_bool(*ready, "resumable_receive", true))
    warn_not_resumable(remote.host_label);
  route_promise.set_value(std::move(*lanes_go));
  spdlog::info("remote receiver ready: window {} chunks, {} data connections {}", window, remote.streams,
               describe_lanes(route.get(), remote));

  Progress progress(
      parse_progress_mode(topts.progress, ctx.global.quiet), "send",
      [&] {
        ProgressSample p;
        p.logical_bytes = pipeline.counters().raw_bytes.load();
        p.wire_bytes = pipeline.counters().encoded_bytes.load();
        p.chunks = pipeline.counters().chunks.load();
        p.lane_bytes = lanes.lane_bytes();
        p.reconnects = lanes.reconnects.load();
        p.resent_bytes = dispatcher.counters().resent_bytes.load();
        return p;
      },
      src->estimated_size);
  engine::StallWatchdog watchdog(
      t.stall_timeout,
      [&] {
        const auto& c = pipeline.counters();
        std::uint64_t lane_total = 0;
        for (auto b : lanes.lane_bytes()) lane_total += b;
        return engine::Activity{c.raw_bytes.load() + lane_total + gate.acknowledged() + lanes.reconnects.load(),
                                c.waiting_for_source.load()
                                    ? "the producer ('" + src->describe + "') stalled"
                                    : "no acknowledgement from " + remote.host_label + " (its zfs receive or the link stalled)"};
      },
      cancel);
  pipeline.start();
  progress.start();

  // The control channel belongs to this thread alone: acks in, trailer out, result in.
  SenderControl control(ctl, dispatcher, pipeline, *src, remote.host_label, "on " + remote.host_label, "result");
  Status outcome;
  json result;
  while (outcome.ok()) {
    if (cancel.cancelled()) {
      outcome = cancel.reason();
      break;
    }
    if (lanes.failed.load()) {
      outcome = settle_lane_failure(ctl, lanes, remote);
      break;
    }
    if (remote.position != nullptr) remote.position->store(pipeline.counters().raw_bytes.load());
    ControlTurn turn = control.turn();
    if (turn.kind == ControlTurn::Kind::final_message) {
      result = std::move(turn.message);
      break;
    }
    if (turn.kind == ControlTurn::Kind::channel_lost) {
      outcome = explain_far_exit(**ctl_ch, remote.host_label, remote.remote_bin, turn.status);
      if (!cancel.cancelled() && transient(outcome)) end = AttemptEnd::lost;
      break;
    }
    outcome = turn.status;  // Ok for more
  }
  if (!outcome.ok() && end == AttemptEnd::lost) {
    // Not the run's failure (yet): this attempt ends, the caller starts another.
    cancel.cancel(outcome);
    dispatcher.complete();
    lanes.join();
    progress.stop();
    src->process->terminate();
    return outcome;
  }
  if (!outcome.ok()) {
    cancel.cancel(outcome);
    send_last_word(ctl, ctl_token, transport::message_from_status(outcome));
  }
  dispatcher.complete();
  lanes.join();
  progress.stop();
  if (!outcome.ok()) {
    src->process->terminate();
    return interrupted_or(cancel, outcome);
  }
  TransferSummary sum;
  sum.verb = "sent";
  sum.logical_bytes = pipeline.counters().raw_bytes.load() - pipeline.counters().skipped_bytes.load();
  sum.wire_bytes = pipeline.counters().encoded_bytes.load();
  sum.seconds = progress.elapsed_seconds();
  sum.digest = stream::to_hex(pipeline.trailer().digest);
  sum.source = src->snapshot_name;
  sum.reconnects = lanes.reconnects.load();
  sum.resent_bytes = dispatcher.counters().resent_bytes.load();
  sum.resumed_chunks = resumed_chunks;
  sum.skipped_bytes = pipeline.counters().skipped_bytes.load();
  if (result.contains("received") && result["received"].is_string() && !result["received"].get<std::string>().empty()) {
    sum.verification = "verified on " + remote.host_label + ": '" + result["received"].get<std::string>() + "' has the source's guid " +
                       std::to_string(header.snapshot_guid) + " and the stream digest matches";
    if (result.contains("sizes") && result["sizes"].is_string()) sum.sizes = result["sizes"].get<std::string>();
  } else {
    sum.verification = "verified on " + remote.host_label + ": stream digest matches";
  }
  if (remote.summary_out != nullptr) *remote.summary_out = sum;
  print_summary(sum, ctx.global.quiet);
  return Status::Ok();
}

}  // namespace

Status push_to_remote(RunContext& ctx, const source::SourceSpec& source_spec, const sink::SinkSpec& remote_sink, const ResolvedTransfer& t,
                      const TransferOptions& topts, const RemoteOptions& remote) {
  const stream::SessionId session = new_session_id();
  std::optional<std::chrono::steady_clock::time_point> give_up;
  for (unsigned attempt = 0;; ++attempt) {
    AttemptEnd end = AttemptEnd::failed;
    Status s = push_attempt(ctx, source_spec, remote_sink, t, topts, remote, session, end);
    if (s.ok() || ctx.cancel.cancelled()) return s;
    // A broken connection is an outage: keep trying until the allowance runs out. Failing to
    // reach the host is part of it once it has begun (at the first attempt it is more
    // likely a wrong host or port: say so at once). An answer from the far half is final.
    const bool retry = end == AttemptEnd::lost || (end == AttemptEnd::unreachable && give_up.has_value() && transient(s));
    if (!retry || remote.reconnect_timeout.count() == 0) {
      if (give_up && end == AttemptEnd::failed)
        return s.context("the receive to resume is gone from " + remote.host_label + " ('pgmigrate status' there shows what it holds)");
      return s;
    }
    const auto now = std::chrono::steady_clock::now();
    if (!give_up) give_up = now + remote.reconnect_timeout;
    if (now >= *give_up)
      return s.context("gave up reconnecting after " + format_duration(std::chrono::duration<double>(remote.reconnect_timeout).count()));
    spdlog::warn("{}; reconnecting to resume", s.message());
    auto until = std::min(now + milliseconds(500) * (1u << std::min(attempt, 4u)), *give_up);
    while (std::chrono::steady_clock::now() < until && !ctx.cancel.cancelled()) std::this_thread::sleep_for(milliseconds(50));
    if (ctx.cancel.cancelled()) return ctx.cancel.reason();
  }
}

// ---------------------------------------------------------------------------------------
// Pull: remote source, local sink.

Status pull_from_remote(RunContext& ctx, const source::SourceSpec& requested_source, const sink::SinkSpec& sink_spec,
                        const ResolvedTransfer& t, const TransferOptions& topts, const RemoteOptions& remote) {
  CancelToken& cancel = ctx.cancel;
  source::SourceSpec remote_source = requested_source;
  if (!sink_spec.target.empty()) {
    // OpenZFS kept an interrupted receive here (zfs receive -s): ask for the rest of it.
    zfs::Zfs zfs;
    remote_source.resume_token = zfs.resume_token(sink_spec.target.substr(0, sink_spec.target.find('@')));
    if (!remote_source.resume_token.empty())
      spdlog::warn("'{}' holds a partial receive (its receive_resume_token): asking {} for only the rest", sink_spec.target,
                   remote.host_label);
  }
  // The lanes need the stream header and the pipeline, which exist only once the far half
  // answers; they log in meanwhile (see push_to_remote) and wait for the socket's address,
  // which is published only after both are set.
  std::optional<stream::StreamHeader> header;
  std::optional<transport::FdWriter> to_consumer;
  NackQueue nacks;
  std::optional<engine::RecvPipeline> pipeline;
  std::promise<LaneRoute> route_promise;
  std::shared_future<LaneRoute> route = route_promise.get_future().share();
  LaneSet lanes;
  std::counting_semaphore<kMaxConcurrentHandshakes> handshakes(kMaxConcurrentHandshakes);
  start_lanes(
      lanes, remote.streams, remote, route, cancel, handshakes, LanePolicy{remote.reconnect_timeout, nullptr},
      [&](transport::Channel& ch, unsigned, engine::LaneCounters& c) { return engine::run_lane_receiver(ch, *header, *pipeline, c); });
  auto abandon = [&](Status why) {
    route_promise.set_value(LaneRoute{});
    lanes.join();
    return why;
  };

  CancelToken ctl_token;  // as in push_attempt: the last message must get out after a cancel
  auto conn = remote.connect(ctl_token);
  if (!conn) return abandon(conn.status());
  auto ctl_ch = (*conn)->exec(serve_send_command(remote.remote_bin, remote_source, t, remote), ctl_token);
  if (!ctl_ch) return abandon(ctl_ch.status());
  transport::ChannelControlIo io(**ctl_ch);
  transport::ControlChannel ctl(io);
  auto ready = ctl.expect("ready", kHandshakeTimeout, cancel);
  if (!ready) {
    Status why = ready.status();
    if (why.code() == Errc::network || why.code() == Errc::io) why = explain_far_exit(**ctl_ch, remote.host_label, remote.remote_bin, why);
    return abandon(why);
  }
  if (!(*ready).contains("header") || !(*ready)["header"].is_string())
    return abandon(Status(Errc::protocol, "the far half sent no stream header"));
  auto decoded = transport::header_from_hex((*ready)["header"].get<std::string>());
  if (!decoded) return abandon(decoded.status());
  header = *decoded;
  auto lanes_go = lane_route(*ready, remote);
  if (!lanes_go) {
    (void)ctl.send(transport::message_from_status(lanes_go.status()));
    return abandon(lanes_go.status());
  }
  std::optional<std::uint64_t> estimate;
  if ((*ready).contains("estimate") && (*ready)["estimate"].is_number_unsigned()) estimate = (*ready)["estimate"].get<std::uint64_t>();

  auto sink = sink::open_sink(sink_spec);
  if (!sink) {
    (void)ctl.send(transport::message_from_status(sink.status()));
    return abandon(sink.status());
  }
  if (!sink->resumable && !sink_spec.target.empty()) warn_not_resumable("this host");
  to_consumer.emplace(sink->fd(), cancel);
  engine::RecvOptions ro = recv_options(t);
  ro.window = recv_window(t, header->chunk_size);
  ro.on_corrupt_chunk = [&nacks](std::uint64_t seq, const Status& why) { nacks.push(seq, why); };
  pipeline.emplace(*header, ro, *to_consumer, cancel);
  Progress progress(
      parse_progress_mode(topts.progress, ctx.global.quiet), "recv",
      [&] {
        ProgressSample p;
        p.logical_bytes = pipeline->counters().delivered_bytes.load();
        p.wire_bytes = pipeline->counters().wire_bytes.load();
        p.chunks = pipeline->counters().delivered_chunks.load();
        p.lane_bytes = lanes.lane_bytes();
        p.reconnects = lanes.reconnects.load();
        return p;
      },
      estimate);
  engine::StallWatchdog watchdog(
      t.stall_timeout,
      [&] {
        const auto& c = pipeline->counters();
        return engine::Activity{c.wire_bytes.load() + c.delivered_bytes.load() + lanes.reconnects.load(),
                                c.writing_to_sink.load() ? "the consumer ('" + sink->describe + "') stopped reading"
                                                         : "no data arrived from " + remote.host_label};
      },
      cancel);
  pipeline->start();
  progress.start();
  Status outcome = ctl.send(json{{"type", "start"}, {"window", ro.window}});
  route_promise.set_value(std::move(*lanes_go));
  spdlog::info("remote sender ready: {} data connections {}", remote.streams, describe_lanes(route.get(), remote));

  ReceiverControl control(*pipeline, nacks, "on " + remote.host_label);
  while (outcome.ok()) {
    if (cancel.cancelled()) {
      outcome = cancel.reason();
      break;
    }
    if (auto done = control.finished()) {
      outcome = *done;
      break;
    }
    if (lanes.failed.load()) {
      outcome = settle_lane_failure(ctl, lanes, remote);
      break;
    }
    outcome = control.report(ctl);
    if (!outcome.ok()) break;
    ControlTurn turn = control.turn(ctl);
    outcome = turn.kind == ControlTurn::Kind::channel_lost ? explain_far_exit(**ctl_ch, remote.host_label, remote.remote_bin, turn.status)
                                                           : turn.status;
  }
  if (!outcome.ok()) {
    cancel.cancel(outcome);
    control.abandon(outcome);
    send_last_word(ctl, ctl_token, transport::message_from_status(outcome));
    lanes.join();
    progress.stop();
    return interrupted_or(cancel, sink->abort_with(outcome));
  }
  auto received = sink->finish(*header);
  (void)ctl.send(received ? json{{"type", "done"}} : transport::message_from_status(received.status()));
  lanes.join();
  progress.stop();
  if (!received) return received.status();
  TransferSummary sum;
  sum.verb = "received";
  sum.logical_bytes = pipeline->counters().delivered_bytes.load();
  sum.wire_bytes = pipeline->counters().wire_bytes.load();
  sum.seconds = progress.elapsed_seconds();
  sum.digest = stream::to_hex(pipeline->digest());
  sum.source = remote.host_label + ":" + header->snapshot_name;
  sum.reconnects = lanes.reconnects.load();
  if (!received->empty()) sum.verification = "verified: '" + *received + "' has the source's guid " + std::to_string(header->snapshot_guid);
  print_summary(sum, ctx.global.quiet);
  return Status::Ok();
}

}  // namespace pgm::cli
