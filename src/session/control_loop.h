// The turns both halves of a remote transfer take on the control channel, whichever side of
// SSH they run on: the sending half (push_attempt locally, serve_send far away) and the
// receiving half (serve_recv far away, pull locally). One implementation each, so
// the protocol (docs/stream-format.md) cannot drift between push and pull. What differs stays
// with the callers: a push's lost control connection is retried, a far receiver waits for its
// sender, a pull reports the far half's exit.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <future>
#include <optional>
#include <string>

#include "engine/dispatcher.h"
#include "engine/recv_pipeline.h"
#include "engine/send_pipeline.h"
#include "session/internal.h"
#include "session/rate_control.h"
#include "source/source.h"
#include "transport/control.h"

namespace pgm::session {

struct ControlTurn {
  enum class Kind {
    more,           // nothing decided: take another turn
    final_message,  // the peer's last message (`message`)
    failed,         // the transfer failed (`status`): the producer, the peer's error, a send
    channel_lost,   // the control channel broke (`status`); what that means is the caller's call
  };
  Kind kind = Kind::more;
  Status status;
  nlohmann::json message;
};

class SenderControl {
 public:
  // `peer` names the receiver in warnings ("user@host"); `error_context` prefixes its errors;
  // `final_type` is the message that ends the loop ("result" for a push, "done" for a pull).
  SenderControl(transport::ControlChannel& ctl, engine::ChunkDispatcher& dispatcher, engine::SendPipeline& pipeline, source::Source& src,
                std::string peer, std::string error_context, std::string final_type)
      : ctl_(ctl),
        dispatcher_(dispatcher),
        pipeline_(pipeline),
        src_(src),
        peer_(std::move(peer)),
        error_context_(std::move(error_context)),
        final_type_(std::move(final_type)) {}
  // Once every chunk has gone to a lane: the producer's exit, then the trailer. Otherwise one
  // message (waiting up to kTick): acks release chunks, nacks resend one, `set_rate` (the
  // receiver passing on `pgmigrate rate`) changes the cap. Before that, a rate asked for on
  // this host (`requests`, if set) changes it too; the receiver hears every change (`rate`).
  ControlTurn turn();
  void watch_rate_requests(RateRequests* requests) { requests_ = requests; }

 private:
  transport::ControlChannel& ctl_;
  engine::ChunkDispatcher& dispatcher_;
  engine::SendPipeline& pipeline_;
  source::Source& src_;
  std::string peer_, error_context_, final_type_;
  bool trailer_sent_ = false;
  RateRequests* requests_ = nullptr;
  std::optional<std::uint64_t> announced_rate_;  // the cap the receiver last heard of
  Status apply_rate(std::uint64_t bytes_per_second);
  Status announce_rate();
};

class ReceiverControl {
 public:
  ReceiverControl(engine::RecvPipeline& pipeline, NackQueue& nacks, std::string error_context)
      : pipeline_(pipeline), nacks_(nacks), error_context_(std::move(error_context)) {}
  // The outcome of the pipeline's finish (started by the trailer), once it is known.
  std::optional<Status> finished();
  // How the transfer ended, if it did: cancelled (its reason), else finished().
  std::optional<Status> ended(const CancelToken& cancel) {
    if (cancel.cancelled()) return cancel.reason();
    return finished();
  }
  // Tells the sender what was delivered since the last call and which chunks to send again,
  // and a rate asked for on this host (`requests`, if watched).
  Status report(transport::ControlChannel& ctl);
  // `requests`: this host's `pgmigrate rate` requests, passed on to the sender. `sender_rate`:
  // where the sender's cap goes as it announces it (for progress, status). Either may be null.
  void watch_rate(RateRequests* requests, std::atomic<std::uint64_t>* sender_rate) {
    requests_ = requests;
    sender_rate_ = sender_rate;
  }
  // A new sender (a resumed one) knows nothing yet: the next report acks again.
  void forget_reports() { last_ack_ = ~0ull; }
  // One message, waiting up to kTick: a trailer starts the finish in the background.
  ControlTurn turn(transport::ControlChannel& ctl);
  // The transfer failed: stop the pipeline and wait for a finish that was under way.
  void abandon(const Status& why);

 private:
  engine::RecvPipeline& pipeline_;
  NackQueue& nacks_;
  std::string error_context_;
  std::future<Status> finisher_;
  std::uint64_t last_ack_ = ~0ull;
  RateRequests* requests_ = nullptr;
  std::atomic<std::uint64_t>* sender_rate_ = nullptr;
};

}  // namespace pgm::session
