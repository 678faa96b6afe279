// The near half of a push: local source, far sink (`pgmigrate _serve recv` through sshd).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "common/backoff.h"
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

// What the attempts of one push share: its session id (every attempt presents the same one,
// so that a far half that has not yet seen its old control connection close knows the sender
// that comes back) and its rate cap, which a change while running (`pgmigrate rate`) must
// outlive an attempt to keep.
struct PushRun {
  stream::SessionId session;
  engine::RateLimiter rate;
  RateRequests requests;
  bool version_checked = false;  // the far pgmigrate is ours (once per run)
};

// The far half's control channel: the connection it runs on, which must outlive it.
struct FarControl {
  std::unique_ptr<transport::Connector> conn;
  std::unique_ptr<transport::Channel> channel;
};

// Connects, checks the far pgmigrate (once per run) and starts `_serve recv` there. `end` says
// whether a failure may be retried.
Result<FarControl> start_far_receive(const sink::SinkSpec& remote_sink, const TransferParams& t, const Remote& remote, PushRun& shared,
                                     const CancelToken& ctl_token, AttemptEnd& end) {
  auto conn = remote.connect(ctl_token);
  if (!conn) {
    end = AttemptEnd::unreachable;
    return conn.status();
  }
  if (!shared.version_checked) {
    if (Status v = check_far_version(**conn, remote, ctl_token); !v.ok()) {
      if (transient(v)) end = AttemptEnd::lost;
      return v;
    }
    shared.version_checked = true;
  }
  auto ctl_ch = (*conn)->exec(serve_recv_command(remote.remote_bin, remote_sink, t, remote), ctl_token);
  if (!ctl_ch) {
    // Logged in, then lost: the far half may have started. Not the user's mistake.
    if (transient(ctl_ch.status())) end = AttemptEnd::lost;
    return ctl_ch.status();
  }
  return FarControl{std::move(*conn), std::move(*ctl_ch)};
}

// The stream this attempt sends: its producer, header and pipeline, which a resume token
// replaces with a producer of only the rest.
struct Outgoing {
  source::Source& src;
  stream::StreamHeader& header;
  engine::SendPipeline& pipeline;
};

// Offers the stream (its header) and reads the far half's answer: "ready", or "result" when it
// already holds the snapshot. A target that kept an interrupted receive of this snapshot
// (OpenZFS zfs receive -s) asks for a resume token's stream instead: only the rest of that
// stream is sent, from a new producer. A failure comes with `end` set.
Result<json> offer_stream(transport::ControlChannel& ctl, transport::Channel& ctl_ch, Outgoing out, const source::SourceSpec& source_spec,
                          const TransferParams& t, const Remote& remote, const CancelToken& cancel, AttemptEnd& end) {
  json hello{{"type", "header"}, {"hex", transport::header_to_hex(out.header)}};
  if (out.src.estimated_size) hello["estimate"] = *out.src.estimated_size;  // for the far journal (pgmigrate status)
  Status s = ctl.send(hello);
  auto ready = s.ok() ? ctl.expect_one_of({"ready", "resume_token", "result"}, kHandshakeTimeout, cancel) : Result<json>(s);
  if (ready && transport::json_string(*ready, "type") == "resume_token") {
    const std::string token = transport::json_string(*ready, "token");
    spdlog::warn("{} holds a partial receive of this snapshot (its receive_resume_token): sending only the rest", remote.host_label);
    source::SourceSpec resumed = source_spec;
    resumed.resume_token = token;
    auto again = source_spec.send_cmd.empty() ? source::open_source(resumed)
                                              : Result<source::Source>(Status(Errc::unsupported, "--send-cmd cannot resume a zfs receive"));
    if (!again) {
      (void)ctl.send(transport::message_from_status(again.status()));
      return again.status();
    }
    const stream::SessionId session = out.header.session_id;
    out.src.process->terminate();
    out.src = std::move(*again);
    out.header = stream_header(t, out.src, session);
    out.pipeline.set_source_fd(out.src.fd());
    s = ctl.send(json{{"type", "header"}, {"hex", transport::header_to_hex(out.header)}, {"resume_token", token}});
    ready = s.ok() ? ctl.expect("ready", kHandshakeTimeout, cancel) : Result<json>(s);
  }
  if (ready) return ready;
  Status why = ready.status();
  // The channel closed during the handshake. With an exit status the far command ended
  // (not installed, refused, failed): its reason is the answer. Without one the connection
  // broke: the far half may already hold a receive (and waits for us, see serve_recv), or
  // may never have started one; another attempt finds out.
  if (ctl.lost() && !cancel.cancelled() && !ctl_ch.wait_exit().ok()) {
    end = AttemptEnd::lost;
    return why;
  }
  if (why.code() == Errc::timeout && !cancel.cancelled()) end = AttemptEnd::lost;  // a link that went silent
  if (why.code() == Errc::network || why.code() == Errc::io) why = explain_far_exit(ctl_ch, remote, why);
  return why;
}

// The target already holds this snapshot (an earlier attempt finished but its answer was lost,
// or this send is run again): nothing to send.
TransferSummary already_sent(const json& result, const std::string& snapshot, const stream::StreamHeader& header, const Remote& remote) {
  TransferSummary sum;
  sum.direction = TransferSummary::Direction::sent;
  sum.source = snapshot;
  sum.verification = "already on " + remote.host_label + ": '" + transport::json_string(result, "received") + "' has the source's guid " +
                     std::to_string(header.snapshot_guid) + "; nothing was sent";
  return sum;
}

// The far half kept the receive open after an earlier attempt: regenerate the stream, check
// what it already has against its journal, and send only the rest. Returns the chunks it has.
Result<std::uint64_t> resume_waiting_receiver(const json& resume, stream::StreamHeader& header, engine::SendPipeline& pipeline,
                                              engine::CreditGate& gate, engine::ChunkDispatcher& dispatcher, const Remote& remote) {
  auto point = transport::resume_from_json(resume);
  if (!point) return point.status();
  if (point->header.chunk_size != header.chunk_size || point->header.snapshot_guid != header.snapshot_guid)
    return Status(Errc::protocol, "the waiting receiver's stream does not match this one");
  header = point->header;  // its session: the lanes present it (they start after this)
  pipeline.resume_from(point->chunks, point->digest);
  gate.acknowledge(point->chunks);
  dispatcher.acknowledge(point->chunks);
  spdlog::warn("resuming session {} on {}: it already has {} chunks ({}); regenerating and checking them, then sending the rest",
               stream::to_hex(header.session_id), remote.host_label, point->chunks, format_bytes(static_cast<double>(point->bytes)));
  return point->chunks;
}

// The control channel's turns until the far half's result (Ok, in `result`) or a failure;
// a lost control connection that another attempt may resume sets `end`.
Status send_turns(SenderControl& control, transport::ControlChannel& ctl, transport::Channel& ctl_ch, LaneSet& lanes,
                  const std::function<void()>& advanced, const Remote& remote, const CancelToken& cancel, json& result, AttemptEnd& end) {
  for (;;) {
    if (cancel.cancelled()) return cancel.reason();
    if (lanes.failed.load()) return settle_lane_failure(ctl, lanes, remote);
    advanced();
    ControlTurn turn = control.turn();
    if (turn.kind == ControlTurn::Kind::final_message) {
      result = std::move(turn.message);
      return Status::Ok();
    }
    if (turn.kind == ControlTurn::Kind::channel_lost) {
      Status outcome = explain_far_exit(ctl_ch, remote, turn.status);
      if (!cancel.cancelled() && transient(outcome)) end = AttemptEnd::lost;
      return outcome;
    }
    if (!turn.status.ok()) return turn.status;
  }
}

// The verification (and sizes) the far half's result reports.
void describe_result(TransferSummary& sum, const json& result, const stream::StreamHeader& header, const Remote& remote) {
  if (result.contains("received") && result["received"].is_string() && !result["received"].get<std::string>().empty()) {
    sum.verification = "verified on " + remote.host_label + ": '" + result["received"].get<std::string>() + "' has the source's guid " +
                       std::to_string(header.snapshot_guid) + " and the stream digest matches";
    if (result.contains("sizes") && result["sizes"].is_string()) sum.sizes = result["sizes"].get<std::string>();
  } else {
    sum.verification = "verified on " + remote.host_label + ": stream digest matches";
  }
}

// What progress and the stall watchdog read of a push: the lanes, resends, and as activity
// the bytes on the lanes plus the far half's acknowledgements.
Movement push_movement(LaneSet& lanes, engine::CreditGate& gate, engine::ChunkDispatcher& dispatcher, const stream::SessionId& session,
                       const Remote& remote) {
  Movement movement =
      lane_movement(lanes, session, "no acknowledgement from " + remote.host_label + " (its zfs receive or the link stalled)");
  movement.resent_bytes = [&dispatcher] { return dispatcher.counters().resent_bytes.load(); };
  movement.activity = [&lanes, &gate] {
    std::uint64_t lane_total = 0;
    for (auto b : lanes.lane_bytes()) lane_total += b;
    return lane_total + gate.acknowledged() + lanes.reconnects.load();
  };
  return movement;
}

// One attempt at a push. On success `sum` holds the summary.
Status push_attempt(const source::SourceSpec& source_spec, const sink::SinkSpec& remote_sink, const TransferParams& t, const Remote& remote,
                    Observer& observer, CancelToken& run_cancel, PushRun& shared, AttemptEnd& end, TransferSummary& sum) {
  CancelToken cancel;  // this attempt's; a signal reaches it through the link
  CancelLink link(run_cancel, cancel);
  end = AttemptEnd::failed;
  auto src = source::open_source(source_spec);
  if (!src) return src.status();
  stream::StreamHeader header = stream_header(t, *src, shared.session);

  engine::SendPipeline pipeline(send_options(t, &shared.rate), src->fd(), cancel);
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
  auto far = start_far_receive(remote_sink, t, remote, shared, ctl_token, end);
  if (!far) return abandon(far.status());
  transport::Channel& ctl_ch = *far->channel;
  transport::ChannelControlIo io(ctl_ch);
  transport::ControlChannel ctl(io);
  auto ready = offer_stream(ctl, ctl_ch, Outgoing{*src, header, pipeline}, source_spec, t, remote, cancel, end);
  if (!ready) return abandon(ready.status());
  if (transport::json_string(*ready, "type") == "result") {
    (void)abandon(Status::Ok());
    sum = already_sent(*ready, src->snapshot_name, header, remote);
    return Status::Ok();
  }
  const std::uint64_t window = transport::json_u64(*ready, "window", 4);
  gate.set_window(window);
  std::uint64_t resumed_chunks = 0;
  if ((*ready).contains("resume")) {
    auto resumed = resume_waiting_receiver((*ready)["resume"], header, pipeline, gate, dispatcher, remote);
    if (!resumed) return abandon(resumed.status());
    resumed_chunks = *resumed;
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

  auto run = start_sending(pipeline, *src, t, observer, push_movement(lanes, gate, dispatcher, shared.session, remote), cancel);

  // The control channel belongs to this thread alone: acks in, trailer out, result in.
  SenderControl control(ctl, dispatcher, pipeline, *src, remote.host_label, "on " + remote.host_label, "result");
  control.watch_rate_requests(&shared.requests);
  json result;
  Status outcome = send_turns(
      control, ctl, ctl_ch, lanes, [&] { observer.advanced(pipeline.counters().raw_bytes.load()); }, remote, cancel, result, end);
  if (!outcome.ok()) {
    cancel.cancel(outcome);
    // A lost control connection is not the run's failure (yet): this attempt ends, the caller
    // starts another, and the far half waits for it.
    if (end != AttemptEnd::lost) send_last_word(ctl, ctl_token, transport::message_from_status(outcome));
  }
  dispatcher.complete();
  lanes.join();
  run->stop();
  if (!outcome.ok()) {
    src->process->terminate();
    return end == AttemptEnd::lost ? outcome : interrupted_or(cancel, outcome);
  }
  sum = sent_summary(pipeline, *run, src->snapshot_name);
  sum.drops = lanes.drops.load();
  sum.reconnects = lanes.reconnects.load();
  sum.resent_bytes = dispatcher.counters().resent_bytes.load();
  sum.resumed_chunks = resumed_chunks;
  describe_result(sum, result, header, remote);
  return Status::Ok();
}

}  // namespace

Result<TransferSummary> push(const source::SourceSpec& source_spec, const sink::SinkSpec& remote_sink, const TransferParams& t,
                             const Remote& remote, Observer& observer, CancelToken& cancel) {
  auto new_id = new_session_id();
  if (!new_id) return new_id.status();
  const stream::SessionId session = *new_id;
  PushRun shared{session, engine::RateLimiter(t.rate), RateRequests(stream::to_hex(session))};
  spdlog::info("session {} ('pgmigrate rate {} RATE' changes its rate cap while it runs)", stream::to_hex(session),
               stream::to_hex(session));
  std::optional<std::chrono::steady_clock::time_point> give_up;
  Backoff backoff(milliseconds(500), milliseconds(8000));  // between attempts, jittered
  for (;;) {
    AttemptEnd end = AttemptEnd::failed;
    TransferSummary sum;
    Status s = push_attempt(source_spec, remote_sink, t, remote, observer, cancel, shared, end, sum);
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
    auto pause = backoff.next();
    if (!pause) return pause.status();
    if (!cancel.wait_for(std::min<std::chrono::steady_clock::duration>(*pause, *give_up - now))) return cancel.reason();
  }
}

}  // namespace pgm::session
