// The near half of a push: local source, far sink (`pgmigrate _serve recv` through sshd).
#include <spdlog/spdlog.h>

#include <thread>

#include "common/units.h"
#include "engine/dispatcher.h"
#include "engine/lanes.h"
#include "session/control_loop.h"
#include "session/internal.h"
#include "session/near.h"
#include "session/stage.h"

namespace pgm::session {

using nlohmann::json;
using std::chrono::milliseconds;

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
// On success `sum` holds the summary.
// NOLINTNEXTLINE(readability-function-size): over the bound; to be split along its seams
Status push_attempt(const source::SourceSpec& source_spec, const sink::SinkSpec& remote_sink, const TransferParams& t, const Remote& remote,
                    Observer& observer, CancelToken& run_cancel, const stream::SessionId& session, AttemptEnd& end, TransferSummary& sum) {
  CancelToken cancel;  // this attempt's; a signal reaches it through the link
  CancelLink link(run_cancel, cancel);
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
    if (why.code() == Errc::network || why.code() == Errc::io) why = explain_far_exit(**ctl_ch, remote, why);
    return abandon(why);
  }
  if (transport::json_string(*ready, "type") == "result") {
    // The target already holds this snapshot (an earlier attempt finished but its answer was
    // lost, or this send is run again): nothing to send.
    (void)abandon(Status::Ok());
    sum = TransferSummary{};
    sum.verb = "sent";
    sum.source = src->snapshot_name;
    sum.verification = "already on " + remote.host_label + ": '" + transport::json_string(*ready, "received") + "' has the source's guid " +
                       std::to_string(header.snapshot_guid) + "; nothing was sent";
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

  Movement movement;
  movement.lane_bytes = [&lanes] { return lanes.lane_bytes(); };
  movement.reconnects = [&lanes] { return lanes.reconnects.load(); };
  movement.resent_bytes = [&dispatcher] { return dispatcher.counters().resent_bytes.load(); };
  movement.activity = [&lanes, &gate] {
    std::uint64_t lane_total = 0;
    for (auto b : lanes.lane_bytes()) lane_total += b;
    return lane_total + gate.acknowledged() + lanes.reconnects.load();
  };
  movement.idle = "no acknowledgement from " + remote.host_label + " (its zfs receive or the link stalled)";
  auto run = start_sending(pipeline, *src, t, observer, movement, cancel);

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
    observer.advanced(pipeline.counters().raw_bytes.load());
    ControlTurn turn = control.turn();
    if (turn.kind == ControlTurn::Kind::final_message) {
      result = std::move(turn.message);
      break;
    }
    if (turn.kind == ControlTurn::Kind::channel_lost) {
      outcome = explain_far_exit(**ctl_ch, remote, turn.status);
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
    run->stop();
    src->process->terminate();
    return outcome;
  }
  if (!outcome.ok()) {
    cancel.cancel(outcome);
    send_last_word(ctl, ctl_token, transport::message_from_status(outcome));
  }
  dispatcher.complete();
  lanes.join();
  run->stop();
  if (!outcome.ok()) {
    src->process->terminate();
    return interrupted_or(cancel, outcome);
  }
  sum = sent_summary(pipeline, *run, src->snapshot_name);
  sum.reconnects = lanes.reconnects.load();
  sum.resent_bytes = dispatcher.counters().resent_bytes.load();
  sum.resumed_chunks = resumed_chunks;
  if (result.contains("received") && result["received"].is_string() && !result["received"].get<std::string>().empty()) {
    sum.verification = "verified on " + remote.host_label + ": '" + result["received"].get<std::string>() + "' has the source's guid " +
                       std::to_string(header.snapshot_guid) + " and the stream digest matches";
    if (result.contains("sizes") && result["sizes"].is_string()) sum.sizes = result["sizes"].get<std::string>();
  } else {
    sum.verification = "verified on " + remote.host_label + ": stream digest matches";
  }
  return Status::Ok();
}

}  // namespace

Result<TransferSummary> push(const source::SourceSpec& source_spec, const sink::SinkSpec& remote_sink, const TransferParams& t,
                             const Remote& remote, Observer& observer, CancelToken& cancel) {
  const stream::SessionId session = new_session_id();
  std::optional<std::chrono::steady_clock::time_point> give_up;
  for (unsigned attempt = 0;; ++attempt) {
    AttemptEnd end = AttemptEnd::failed;
    TransferSummary sum;
    Status s = push_attempt(source_spec, remote_sink, t, remote, observer, cancel, session, end, sum);
    if (s.ok()) return sum;
    if (cancel.cancelled()) return s;
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
    while (std::chrono::steady_clock::now() < until && !cancel.cancelled()) std::this_thread::sleep_for(milliseconds(50));
    if (cancel.cancelled()) return cancel.reason();
  }
}

}  // namespace pgm::session
