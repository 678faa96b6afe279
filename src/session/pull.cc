// The near half of a pull: far source (`pgmigrate _serve send` through sshd), local sink.
#include <spdlog/spdlog.h>

#include "common/units.h"
#include "engine/lanes.h"
#include "session/control_loop.h"
#include "session/internal.h"
#include "session/near.h"
#include "session/stage.h"
#include "zfs/zfs.h"

namespace pgm::session {

using nlohmann::json;

namespace {

// What to ask the far half for: the requested stream, or only the rest of an interrupted
// receive that OpenZFS kept here (zfs receive -s).
source::SourceSpec resumed_source(const source::SourceSpec& requested, const sink::SinkSpec& sink_spec, const Remote& remote) {
  source::SourceSpec remote_source = requested;
  if (sink_spec.target.empty()) return remote_source;
  // OpenZFS kept an interrupted receive here (zfs receive -s): ask for the rest of it.
  const zfs::Zfs zfs = zfs::Zfs::with_wrapper(sink_spec.privilege_wrapper);
  remote_source.resume_token = zfs.resume_token(sink_spec.target.substr(0, sink_spec.target.find('@')));
  if (!remote_source.resume_token.empty())
    spdlog::warn("'{}' holds a partial receive (its receive_resume_token): asking {} for only the rest", sink_spec.target,
                 remote.host_label);
  return remote_source;
}

// The stream header in the far sender's `ready`.
Result<stream::StreamHeader> ready_header(const json& ready) {
  if (!ready.contains("header") || !ready["header"].is_string()) return Status(Errc::protocol, "the far half sent no stream header");
  return transport::header_from_hex(ready["header"].get<std::string>());
}

// This stream was received before (a pull run again): the snapshot with the source's guid is
// the proof.
TransferSummary already_pulled(const Remote& remote, const stream::StreamHeader& header, const std::string& have) {
  TransferSummary sum;
  sum.direction = TransferSummary::Direction::received;
  sum.source = remote.host_label + ":" + header.snapshot_name;
  sum.verification =
      "already here: '" + have + "' has the source's guid " + std::to_string(header.snapshot_guid) + "; nothing was received";
  return sum;
}

// The control channel's turns until the transfer ends, either way.
Status receive_turns(ReceiverControl& control, transport::ControlChannel& ctl, transport::Channel& ctl_ch, LaneSet& lanes,
                     const Remote& remote, const CancelToken& cancel) {
  Status outcome;
  while (outcome.ok()) {
    if (auto end = control.ended(cancel)) return *end;
    if (lanes.failed.load()) return settle_lane_failure(ctl, lanes, remote);
    outcome = control.report(ctl);
    if (!outcome.ok()) break;
    ControlTurn turn = control.turn(ctl);
    outcome = turn.kind == ControlTurn::Kind::channel_lost ? explain_far_exit(ctl_ch, remote, turn.status) : turn.status;
  }
  return outcome;
}

}  // namespace

Result<TransferSummary> pull(const source::SourceSpec& requested_source, const sink::SinkSpec& sink_spec, const TransferParams& t,
                             const Remote& remote, Observer& observer, CancelToken& cancel) {
  const source::SourceSpec remote_source = resumed_source(requested_source, sink_spec, remote);
  // The lanes need the stream header and the pipeline, which exist only once the far half
  // answers; they log in meanwhile (see push) and wait for the socket's address,
  // which is published only after both are set.
  std::optional<stream::StreamHeader> header;
  std::optional<FdWriter> to_consumer;
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
  if (Status v = check_far_version(**conn, remote, ctl_token); !v.ok()) return abandon(v);
  auto ctl_ch = (*conn)->exec(serve_send_command(remote.remote_bin, remote_source, t, remote), ctl_token);
  if (!ctl_ch) return abandon(ctl_ch.status());
  transport::ChannelControlIo io(**ctl_ch);
  transport::ControlChannel ctl(io);
  auto ready = ctl.expect("ready", kHandshakeTimeout, cancel);
  if (!ready) {
    Status why = ready.status();
    if (why.code() == Errc::network || why.code() == Errc::io) why = explain_far_exit(**ctl_ch, remote, why);
    return abandon(why);
  }
  auto decoded = ready_header(*ready);
  if (!decoded) return abandon(decoded.status());
  header = *decoded;
  auto lanes_go = lane_route(*ready, remote);
  if (!lanes_go) {
    (void)ctl.send(transport::message_from_status(lanes_go.status()));
    return abandon(lanes_go.status());
  }
  if (auto have = sink::already_received(sink_spec, *header)) {
    (void)ctl.send(json{{"type", "done"}, {"already", true}});  // the far sender may exit
    (void)abandon(Status::Ok());
    return already_pulled(remote, *header, *have);
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
  engine::RecvOptions ro = recv_options(t, header->chunk_size);
  ro.on_corrupt_chunk = [&nacks](std::uint64_t seq, const Status& why) { nacks.push(seq, why); };
  pipeline.emplace(*header, ro, *to_consumer, cancel);
  Movement movement = lane_movement(lanes, header->session_id, "no data arrived from " + remote.host_label);
  movement.activity = [&lanes] { return lanes.reconnects.load(); };
  std::atomic<std::uint64_t> sender_rate{t.rate};  // the far sender's cap, as it announces it
  movement.rate_limit = [&sender_rate] { return sender_rate.load(); };
  auto run = start_receiving(*pipeline, *sink, t, observer, estimate, movement, cancel);
  Status outcome = ctl.send(json{{"type", "start"}, {"window", ro.window}});
  route_promise.set_value(std::move(*lanes_go));
  spdlog::info("remote sender ready: {} data connections {}", remote.streams, describe_lanes(route.get(), remote));

  ReceiverControl control(*pipeline, nacks, "on " + remote.host_label);
  RateRequests rate_requests(stream::to_hex(header->session_id));
  control.watch_rate(&rate_requests, &sender_rate);
  spdlog::info("session {} ('pgmigrate rate {} RATE' changes its rate cap while it runs)", stream::to_hex(header->session_id),
               stream::to_hex(header->session_id));
  if (outcome.ok()) outcome = receive_turns(control, ctl, **ctl_ch, lanes, remote, cancel);
  if (!outcome.ok()) {
    cancel.cancel(outcome);
    control.abandon(outcome);
    send_last_word(ctl, ctl_token, transport::message_from_status(outcome));
    lanes.join();
    run->stop();
    return interrupted_or(cancel, sink->abort_with(outcome));
  }
  auto received = sink->finish(*header);
  (void)ctl.send(received ? json{{"type", "done"}} : transport::message_from_status(received.status()));
  lanes.join();
  run->stop();
  if (!received) return received.status();
  TransferSummary sum = received_summary(*pipeline, *run, remote.host_label + ":" + header->snapshot_name);
  sum.drops = lanes.drops.load();
  sum.reconnects = lanes.reconnects.load();
  if (!received->empty()) sum.verification = "verified: '" + *received + "' has the source's guid " + std::to_string(header->snapshot_guid);
  return sum;
}

}  // namespace pgm::session
