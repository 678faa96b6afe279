// The far halves of remote transfers, started by sshd as `pgmigrate _serve recv|send` with
// their control channel on stdin/stdout; data lanes attach through `_lane`.
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <future>

#include "common/units.h"
#include "engine/dispatcher.h"
#include "engine/lanes.h"
#include "engine/watchdog.h"
#include "journal/journal.h"
#include "pgmigrate/session.h"
#include "session/control_loop.h"
#include "session/internal.h"
#include "session/stage.h"
#include "zfs/zfs.h"

namespace pgm::session {

using nlohmann::json;
using std::chrono::milliseconds;

namespace {

// A sender that comes back must be sending the stream this receiver is in the middle of.
std::string stream_mismatch(const stream::StreamHeader& have, const stream::StreamHeader& got) {
  if (have.snapshot_name != got.snapshot_name || have.snapshot_guid != got.snapshot_guid)
    return "it sends '" + got.snapshot_name + "' but '" + have.snapshot_name + "' is being received";
  if (have.chunk_size != got.chunk_size)
    return "it uses chunks of " + std::to_string(got.chunk_size) + " bytes but the transfer uses " + std::to_string(have.chunk_size) +
           " (rerun with --chunk-size " + std::to_string(have.chunk_size) + ")";
  if (have.codec != got.codec)
    return std::string("it compresses with ") + stream::codec_name(got.codec) + " but the transfer uses " + stream::codec_name(have.codec);
  return {};
}

// The control channel of a receive: stdin/stdout at first, later the connection of a
// sender that came back (handed over by another `_serve recv`, see lane_socket.h).
struct Controller {
  std::optional<transport::LaneFds> fds;  // unset: stdin/stdout
  std::unique_ptr<transport::FdControlIo> io;
  std::unique_ptr<transport::ControlChannel> ctl;
  Controller(int in, int out, CancelToken& cancel)
      : io(std::make_unique<transport::FdControlIo>(in, out, cancel)), ctl(std::make_unique<transport::ControlChannel>(*io)) {}
  Controller(transport::LaneFds f, CancelToken& cancel) : Controller(f.in.get(), f.out.get(), cancel) { fds = std::move(f); }
};

// With --tls-port: a listener for direct TLS lanes, on the address the SSH connection
// arrived at, with a fresh key for this transfer.
Result<std::optional<transport::TlsListener>> open_tls(std::optional<int> port) {
  if (!port) return std::optional<transport::TlsListener>();
  auto key = transport::TlsKey::generate();
  if (!key) return key.status();
  auto l = transport::TlsListener::listen(transport::ssh_server_address(), *port, *key);
  if (!l) return l.status().context("--tls-port");
  return std::optional<transport::TlsListener>(std::move(*l));
}

// The sender's first message, its stream header. OpenZFS may have kept an interrupted receive
// into this target (zfs receive -s): then the sender is asked for the rest of that stream
// (zfs send -t) rather than all of a new one. A refusal is told to the sender.
Result<json> read_hello(transport::ControlChannel& ctl, const sink::SinkSpec& spec, CancelToken& cancel) {
  auto hello = ctl.expect("header", kHandshakeTimeout, cancel);
  if (!hello || spec.target.empty()) return hello;
  zfs::Zfs zfs;
  const std::string token = zfs.resume_token(spec.target.substr(0, spec.target.find('@')));
  if (token.empty() || transport::json_string(*hello, "resume_token") == token) return hello;
  spdlog::info("'{}' holds a partially received stream: asking the sender for the rest", spec.target);
  PGM_RETURN_IF_ERROR(ctl.send(json{{"type", "resume_token"}, {"token", token}}));
  hello = ctl.expect("header", kHandshakeTimeout, cancel);
  if (!hello) return hello;
  if (transport::json_string(*hello, "resume_token") != token) {
    Status refused(Errc::protocol, "the sender did not resume the partial receive into '" + spec.target + "'");
    (void)ctl.send(transport::message_from_status(refused));
    return refused;
  }
  return hello;
}

// This receive's journal entry as it starts.
journal::Record receive_record(const stream::StreamHeader& header, const std::string& target, const json& hello,
                               const transport::LaneListener& listener) {
  journal::Record rec;
  rec.session = stream::to_hex(header.session_id);
  rec.role = "receive";
  rec.state = "running";
  rec.target = target;
  rec.snapshot = header.snapshot_name;
  rec.snapshot_guid = header.snapshot_guid;
  rec.chunk_size = header.chunk_size;
  rec.estimate = transport::json_u64(hello, "estimate", 0);
  rec.pid = static_cast<int>(::getpid());
  rec.socket = listener.path();
  rec.started = rec.updated = journal::unix_now();
  return rec;
}

// What a receive holds once it is set up: the stream it takes, where it writes, where its lanes
// and a returning sender reach it, and its journal. `answered`: nothing more to do (the receive
// was handed over to the process already running it, or the snapshot is here already).
struct Setup {
  stream::StreamHeader header;
  std::optional<sink::Sink> sink;
  std::optional<transport::LaneListener> listener;
  std::optional<transport::TlsListener> tls;
  journal::Record rec;
  std::optional<journal::Journal> journal;
  std::optional<Status> answered;
};

// Everything up to the journal, under the target's setup lock; a failure is told to the sender.
Result<Setup> prepare_receive(const sink::SinkSpec& spec, const std::string& target, const std::optional<FarTls>& tls_opts,
                              std::unique_ptr<Controller>& controller, FarIo far_io, CancelToken& cancel) {
  auto fail = [&](Status s) {
    (void)controller->ctl->send(transport::message_from_status(s));
    return s;
  };
  Setup su;
  auto dir = journal::state_dir("");
  if (!dir) return fail(dir.status().context("transfer state directory"));
  // Until this receive's journal exists, another far half for the same target must wait:
  // it may be our own sender coming back after losing this connection.
  auto setup_lock = journal::TargetLock::acquire(*dir, target, kHandshakeTimeout + std::chrono::seconds(10), cancel);
  if (!setup_lock) return fail(setup_lock.status());
  // A receive into this target that is under way: this connection is its sender coming back
  // (or another sender, which it refuses). Hand it over; that process answers.
  if (auto waiting = journal::find_receiver(*dir, target); waiting && !waiting->record.socket.empty()) {
    setup_lock->release();
    controller.reset();
    su.answered = transport::attach_lane(waiting->record.socket, 'C', far_io.control_in, far_io.control_out);
    return su;
  }

  // Journals of receives into this target whose process died (a crash, a reboot) describe
  // nothing that can still resume this way; the target's own resume token (OpenZFS) may.
  for (const auto& l : journal::list(*dir))
    if (!l.alive && l.record.role == "receive" && l.record.target == target) (void)journal::remove_files(l.path);

  auto hello = read_hello(*controller->ctl, spec, cancel);
  if (!hello) return hello.status();
  if (!(*hello).contains("hex") || !(*hello)["hex"].is_string()) return fail(Status(Errc::protocol, "header message without a header"));
  auto header = transport::header_from_hex((*hello)["hex"].get<std::string>());
  if (!header) return fail(header.status());
  su.header = *header;
  if (auto have = sink::already_received(spec, su.header)) {
    // An earlier transfer of this stream finished (its answer may have been lost with its
    // connection): the snapshot with the source's guid is the proof; nothing to receive.
    spdlog::info("'{}' already holds this snapshot (guid {}): nothing to receive", *have, su.header.snapshot_guid);
    su.answered = controller->ctl->send(json{{"type", "result"}, {"received", *have}, {"already", true}});
    return su;
  }
  auto sink = sink::open_sink(spec);
  if (!sink) return fail(sink.status());
  su.sink.emplace(std::move(*sink));
  auto listener = transport::LaneListener::listen(stream::to_hex(su.header.session_id));
  if (!listener) {
    su.sink->abort();
    return fail(listener.status());
  }
  su.listener.emplace(std::move(*listener));
  auto tls = open_tls(tls_opts ? std::optional<int>(tls_opts->port) : std::nullopt);
  if (!tls) {
    su.sink->abort();
    return fail(tls.status());
  }
  su.tls = std::move(*tls);
  su.rec = receive_record(su.header, target, *hello, *su.listener);
  auto jr = journal::Journal::create(*dir, su.rec);
  if (!jr) {
    su.sink->abort();
    return fail(jr.status().context("creating the transfer journal"));
  }
  su.journal.emplace(std::move(*jr));
  setup_lock->release();  // a sender that comes back now finds this receive
  return su;
}

// The receive's turns once it is set up: control messages, the journal kept up to date,
// senders that come back after losing their connection. Everything it refers to belongs to
// serve_recv and outlives it.
struct ReceiveLoop {
  std::chrono::milliseconds wait_for_sender;
  CancelToken& cancel;
  std::unique_ptr<Controller>& controller;
  const stream::StreamHeader& header;
  const std::string& target;
  journal::Record& rec;
  journal::Journal& jrn;
  engine::RecvPipeline& pipeline;
  ReceiverControl& control;
  const transport::LaneListener& listener;
  const std::optional<transport::TlsListener>& tls;
  std::size_t window;
  const std::atomic<std::uint64_t>& taken_bytes;
  const std::atomic<std::uint64_t>& sender_rate;
  std::atomic<std::uint64_t>& waiting_ticks;
  std::mutex& arrivals_mu;
  std::vector<transport::LaneFds>& arrivals;  // senders coming back
  bool waiting = false;                       // the sender went away; we wait for it until waiting_until
  std::chrono::steady_clock::time_point waiting_until{};
  std::chrono::steady_clock::time_point last_save = std::chrono::steady_clock::now();
  std::uint64_t last_saved_bytes = 0;

  // Until the transfer ends, either way. `ready_sent`: how sending `ready` went.
  Status run(const Status& ready_sent);
  void save(bool force);
  void start_waiting(const Status& why);
  bool take_over(transport::LaneFds fds);
};

void ReceiveLoop::save(bool force) {
  const auto now = std::chrono::steady_clock::now();
  const double dt = std::chrono::duration<double>(now - last_save).count();
  if (!force && dt < 1.0) return;
  const std::uint64_t bytes = pipeline.counters().delivered_bytes.load();
  rec.rate = dt > 0 ? static_cast<double>(bytes - last_saved_bytes) / dt : 0;
  rec.rate_limit = sender_rate.load();
  rec.chunks = pipeline.delivered();
  rec.bytes = bytes;
  rec.updated = journal::unix_now();
  last_save = now;
  last_saved_bytes = bytes;
  (void)jrn.flush();
  if (Status s = jrn.save(rec); !s.ok()) spdlog::warn("cannot update the transfer journal: {}", s.message());
}

// The sender went away: keep zfs receive alive and wait for it to run again (it re-attaches
// through our socket).
void ReceiveLoop::start_waiting(const Status& why) {
  waiting = true;
  waiting_until = std::chrono::steady_clock::now() + wait_for_sender;
  rec.state = "waiting";
  rec.note =
      why.message() + "; waiting " + format_duration(std::chrono::duration<double>(wait_for_sender).count()) + " for it to run again";
  save(true);
  spdlog::warn("{}; keeping the receive open for {} (run the same pgmigrate send again to resume)", why.message(),
               format_duration(std::chrono::duration<double>(wait_for_sender).count()));
}

// Answers a sender that came back: checks it sends the same stream, forgets what the old
// sender had in flight, and tells it where to go on. Refusals leave us as we were. While
// the old control connection still looks alive, only the same session may take over: a
// sender that reconnects before we saw its old connection break (a half-open TCP
// connection can look alive for hours).
bool ReceiveLoop::take_over(transport::LaneFds fds) {
  auto next = std::make_unique<Controller>(std::move(fds), cancel);
  auto again = next->ctl->expect("header", milliseconds(30'000), cancel);
  if (!again) return false;
  auto h = transport::header_from_hex(transport::json_string(*again, "hex"));
  if (!h) {
    (void)next->ctl->send(transport::message_from_status(h.status()));
    return false;
  }
  if (!waiting && h->session_id != header.session_id) {
    (void)next->ctl->send(transport::message_from_status(
        Status(Errc::exists, "a transfer into '" + target + "' is already running (session " + rec.session + ", pid " +
                                 std::to_string(rec.pid) + "); wait for it, or stop it with 'pgmigrate abort " + rec.session + "'")));
    return false;
  }
  if (std::string why = stream_mismatch(header, *h); !why.empty()) {
    (void)next->ctl->send(transport::message_from_status(Status(
        Errc::exists, "a transfer into '" + target + "' (session " + rec.session + ") is waiting for its sender, and this is not it: " +
                          why + "; to start over, run 'pgmigrate abort " + rec.session + "' on the receiving host")));
    return false;
  }
  transport::ResumePoint point;
  point.header = header;
  point.chunks = pipeline.rewind_to_taken();
  point.bytes = taken_bytes.load();
  auto digest = jrn.prefix_digest(point.chunks);
  if (!digest) {
    (void)next->ctl->send(transport::message_from_status(digest.status()));
    return false;
  }
  point.digest = *digest;
  json again_ready = lane_routes(listener, tls);
  again_ready["type"] = "ready";
  again_ready["window"] = window;
  again_ready["resume"] = transport::resume_to_json(point);
  if (!next->ctl->send(again_ready).ok()) return false;
  spdlog::info("the sender came back: resuming session {} after chunk {} ({})", rec.session, point.chunks,
               format_bytes(static_cast<double>(point.bytes)));
  controller = std::move(next);
  waiting = false;
  control.forget_reports();
  ++rec.resumes;
  rec.state = "running";
  rec.note.clear();
  save(true);
  return true;
}

Status ReceiveLoop::run(const Status& ready_sent) {
  Status outcome;
  if (!ready_sent.ok()) {
    if (wait_for_sender.count() == 0 || cancel.cancelled()) outcome = ready_sent;
    else start_waiting(Status(Errc::network, "the sending side went away before it heard 'ready' (" + ready_sent.message() + ")"));
  }
  while (outcome.ok()) {
    if (auto end = control.ended(cancel)) return *end;
    save(false);
    std::vector<transport::LaneFds> came;
    {
      std::lock_guard<std::mutex> lock(arrivals_mu);
      came.swap(arrivals);
    }
    for (auto& c : came) (void)take_over(std::move(c));  // a refusal was told to that sender
    if (waiting) {
      waiting_ticks.fetch_add(1);
      if (std::chrono::steady_clock::now() >= waiting_until)
        return Status(Errc::timeout,
                      "the sender did not come back within " + format_duration(std::chrono::duration<double>(wait_for_sender).count()));
      (void)cancel.wait_for(kTick);  // a cancel ends the loop at its top
      continue;
    }
    transport::ControlChannel& ctl = *controller->ctl;
    // A report that cannot be sent is the sender going away: the receive below says so.
    if (Status r = control.report(ctl); !r.ok()) spdlog::debug("ack not sent: {}", r.message());
    ControlTurn turn = control.turn(ctl);
    if (turn.kind == ControlTurn::Kind::channel_lost) {
      if (cancel.cancelled()) return cancel.reason();
      Status why = turn.status.context("the sending side went away");
      if (wait_for_sender.count() == 0) return why;
      // A sender that crashed, was killed, or lost its control connection.
      start_waiting(why);
      continue;
    }
    outcome = turn.status;
  }
  return outcome;
}

// The answer to the sender once the snapshot is received: what it is, and the stream's digest.
json receive_result(const std::string& received, engine::RecvPipeline& pipeline) {
  json result{{"type", "result"},
              {"received", received},
              {"delivered_bytes", pipeline.counters().delivered_bytes.load()},
              {"digest", stream::to_hex(pipeline.digest())}};
  if (!received.empty()) {
    zfs::Zfs zfs;
    if (auto ref = zfs.referenced(received))
      result["sizes"] = "target '" + received + "' references " + format_bytes(static_cast<double>(*ref)) +
                        ". Note: df/used sizes may differ from the source because ZFS rewrites and repacks blocks on receive; the guid "
                        "and stream digest are what prove the copy";
  }
  return result;
}

}  // namespace

Status serve_recv(const sink::SinkSpec& spec, const TransferParams& t, milliseconds wait_for_sender, const std::optional<FarTls>& tls_opts,
                  CancelToken& cancel, FarIo far_io) {
  auto controller = std::make_unique<Controller>(far_io.control_in, far_io.control_out, cancel);
  auto fail = [&](Status s) {
    (void)controller->ctl->send(transport::message_from_status(s));
    return s;
  };
  const std::string target = !spec.target.empty() ? spec.target : "--recv-cmd " + spec.recv_cmd;
  auto prepared = prepare_receive(spec, target, tls_opts, controller, far_io, cancel);
  if (!prepared) return prepared.status();
  if (prepared->answered) return *prepared->answered;
  const stream::StreamHeader& header = prepared->header;
  sink::Sink& sink = *prepared->sink;
  journal::Record& rec = prepared->rec;
  journal::Journal& jrn = *prepared->journal;

  FdWriter to_consumer(sink.fd(), cancel);
  NackQueue nacks;
  std::atomic<std::uint64_t> taken_bytes{0};
  engine::RecvOptions ro = recv_options(t, header.chunk_size);
  const std::size_t window = ro.window;
  ro.on_corrupt_chunk = [&nacks](std::uint64_t seq, const Status& why) { nacks.push(seq, why); };
  ro.on_take = [&jrn, &taken_bytes](std::uint32_t raw_len, std::uint64_t checksum) {
    jrn.add_chunk(raw_len, checksum);
    taken_bytes.fetch_add(raw_len, std::memory_order_relaxed);
  };
  engine::RecvPipeline pipeline(header, ro, to_consumer, cancel);
  std::atomic<std::uint64_t> waiting_ticks{0};
  std::atomic<std::uint64_t> sender_rate{0};  // the sender's cap, as it announces it
  Movement movement;
  movement.activity = [&waiting_ticks] { return waiting_ticks.load(); };
  movement.idle = "no data arrived from the sender";
  Observer silent;  // a far half shows no progress
  auto run = start_receiving(pipeline, sink, t, silent, std::nullopt, movement, cancel);
  std::mutex arrivals_mu;
  std::vector<transport::LaneFds> arrivals;  // senders coming back
  LaneAcceptor acceptor;
  acceptor.on_control = [&](transport::LaneFds&& c) {
    std::lock_guard<std::mutex> lock(arrivals_mu);
    arrivals.push_back(std::move(c));
  };
  const LaneAcceptor::Body receive_lane = [&](ByteReader& in, ByteWriter&, unsigned id) {
    engine::LaneCounters c;
    Status s = engine::run_lane_receiver(in, header, pipeline, c);
    // A lane that breaks is the sender's to replace: it resends what was in flight.
    if (!s.ok() && !cancel.cancelled()) spdlog::warn("data connection {} dropped: {}", id, s.message());
    return cancel.cancelled() ? s : Status::Ok();
  };
  acceptor.start(*prepared->listener, cancel, receive_lane);
  if (prepared->tls) acceptor.start_tls(*prepared->tls, cancel, receive_lane, tls_opts->allow_from);
  json ready = lane_routes(*prepared->listener, prepared->tls);
  ready["type"] = "ready";
  ready["window"] = window;
  ready["resumable_receive"] = sink.resumable;
  // A sender that cannot hear `ready` lost its connection: it comes back (see take_over).
  const Status ready_sent = controller->ctl->send(ready);

  ReceiverControl control(pipeline, nacks, "the sending side failed");
  RateRequests rate_requests(rec.session);
  control.watch_rate(&rate_requests, &sender_rate);
  ReceiveLoop loop{.wait_for_sender = wait_for_sender,
                   .cancel = cancel,
                   .controller = controller,
                   .header = header,
                   .target = target,
                   .rec = rec,
                   .jrn = jrn,
                   .pipeline = pipeline,
                   .control = control,
                   .listener = *prepared->listener,
                   .tls = prepared->tls,
                   .window = window,
                   .taken_bytes = taken_bytes,
                   .sender_rate = sender_rate,
                   .waiting_ticks = waiting_ticks,
                   .arrivals_mu = arrivals_mu,
                   .arrivals = arrivals};
  const Status outcome = loop.run(ready_sent);
  if (!outcome.ok()) {
    cancel.cancel(outcome);
    control.abandon(outcome);
    acceptor.join();
    (void)jrn.remove();
    return fail(sink.abort_with(outcome));
  }
  auto received = sink.finish(header);
  (void)jrn.remove();
  if (!received) {
    acceptor.join();
    return fail(received.status());
  }
  Status sent = controller->ctl->send(receive_result(*received, pipeline));
  // The sender ends its lanes once it has the result; their threads then return.
  acceptor.join();
  return sent;
}

Status serve_send(const source::SourceSpec& spec, const TransferParams& t, const std::optional<FarTls>& tls_opts, CancelToken& cancel,
                  FarIo far_io) {
  transport::FdControlIo io(far_io.control_in, far_io.control_out, cancel);
  transport::ControlChannel ctl(io);
  auto fail = [&](Status s) {
    (void)ctl.send(transport::message_from_status(s));
    return s;
  };
  auto src = source::open_source(spec);
  if (!src) return fail(src.status());
  auto new_header = new_stream_header(t, *src);
  if (!new_header) return fail(new_header.status());
  const stream::StreamHeader header = *new_header;
  auto listener = transport::LaneListener::listen(stream::to_hex(header.session_id));
  if (!listener) return fail(listener.status());
  auto tls = open_tls(tls_opts ? std::optional<int>(tls_opts->port) : std::nullopt);
  if (!tls) return fail(tls.status());
  json ready = lane_routes(*listener, *tls);
  ready["type"] = "ready";
  ready["header"] = transport::header_to_hex(header);
  if (src->estimated_size) ready["estimate"] = *src->estimated_size;
  PGM_RETURN_IF_ERROR(ctl.send(ready));
  auto start = ctl.expect_one_of({"start", "done"}, kHandshakeTimeout, cancel);
  if (!start || transport::json_string(*start, "type") == "done") {
    // `done` before `start`: the receiver already holds this stream's snapshot.
    src->process->terminate();
    return start.status();
  }
  engine::CreditGate gate(transport::json_u64(*start, "window", 4));
  engine::RateLimiter rate(t.rate);  // --rate of the pull, passed on in our command line
  RateRequests requests(stream::to_hex(header.session_id));
  engine::SendPipeline pipeline(send_options(t, &rate), src->fd(), cancel);
  engine::ChunkDispatcher dispatcher(pipeline, gate);
  Movement movement;
  movement.activity = [&pipeline, &gate] { return pipeline.counters().encoded_bytes.load() + gate.acknowledged(); };
  movement.idle = "no acknowledgement from the receiver";
  Observer silent;  // a far half shows no progress
  auto run = start_sending(pipeline, *src, t, silent, movement, cancel);
  LaneAcceptor acceptor;
  const LaneAcceptor::Body send_lane = [&](ByteReader&, ByteWriter& out, unsigned id) {
    engine::LaneCounters c;
    Status s = engine::run_dispatched_lane(dispatcher, static_cast<int>(id), header, out, c, cancel);
    if (!s.ok() && !cancel.cancelled()) {
      // The receiver replaces broken lanes; what this one carried goes out again.
      spdlog::warn("data connection {} dropped: {}", id, s.message());
      dispatcher.lane_failed(static_cast<int>(id));
      return Status::Ok();
    }
    return s;
  };
  acceptor.start(*listener, cancel, send_lane);
  if (*tls) acceptor.start_tls(**tls, cancel, send_lane, tls_opts->allow_from);

  SenderControl control(ctl, dispatcher, pipeline, *src, "the receiving side", "the receiving side failed", "done");
  control.watch_rate_requests(&requests);
  Status outcome;
  while (outcome.ok()) {
    if (cancel.cancelled()) {
      outcome = cancel.reason();
      break;
    }
    ControlTurn turn = control.turn();
    if (turn.kind == ControlTurn::Kind::final_message) break;
    outcome = turn.kind != ControlTurn::Kind::channel_lost ? turn.status
              : cancel.cancelled()                         ? cancel.reason()
                                                           : turn.status.context("the receiving side went away");
  }
  dispatcher.complete();
  if (!outcome.ok()) {
    cancel.cancel(outcome);
    src->process->terminate();
    acceptor.join();
    return fail(outcome);
  }
  acceptor.join();
  return Status::Ok();
}

}  // namespace pgm::session
