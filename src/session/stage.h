// What every transfer builds the same way, whichever way its bytes go (one fd, lanes to a
// far half, a far half itself): the pipeline options and the stream header from the typed
// parameters, then, once data moves, the stall watchdog and the observer's view of the
// counters, and at the end the summary. Internal to session/.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/recv_pipeline.h"
#include "engine/send_pipeline.h"
#include "engine/watchdog.h"
#include "pgmigrate/session.h"

namespace pgm::session {

// `rate`: the transfer's cap, shared by its lanes (null: none); it must outlive the pipeline.
engine::SendOptions send_options(const TransferParams& t, engine::RateLimiter* rate);
// The receiver's options for a stream whose sender chose `chunk_size`: the memory bound
// expressed as a window in that stream's chunks (at least 4).
engine::RecvOptions recv_options(const TransferParams& t, std::uint32_t chunk_size);

// A random session id (common/random.h); an error only if no random bytes could be had.
Result<stream::SessionId> new_session_id();
// The header of a new stream from `src` (new session id, the source's snapshot and guid).
Result<stream::StreamHeader> new_stream_header(const TransferParams& t, const source::Source& src);
// The header of a stream from `src` in an existing session (a push's retry keeps its id).
stream::StreamHeader stream_header(const TransferParams& t, const source::Source& src, const stream::SessionId& session);

// What a transfer adds to its pipeline's own counters: its lanes for progress, and for the
// stall watchdog more things that count as movement and whom to blame when the pipeline's
// own end (the producer, the consumer) is not the one that stopped. Unset functions add
// nothing.
struct Movement {
  std::function<std::vector<std::uint64_t>()> lane_bytes;
  std::function<std::uint64_t()> drops;
  std::function<std::uint64_t()> reconnects;
  std::function<std::uint64_t()> resent_bytes;
  std::function<std::uint64_t()> activity;
  std::function<std::uint64_t()> rate_limit;  // the sender's cap (a receiving half hears it)
  std::function<unsigned()> lanes_up;
  std::string session;  // hex, for progress (`pgmigrate rate SESSION` on the near host)
  std::string idle;     // "no acknowledgement from host", "no data arrived on stdin", ...
};

// A transfer whose data moves: its stall watchdog runs and its observer samples it. stop()
// (or the destructor) ends the observer's sampling; the watchdog ends with the object.
// REQUIRES: whatever the Movement's functions read outlives this object.
class Running {
 public:
  Running(Observer& observer, std::chrono::milliseconds stall_timeout, std::function<engine::Activity()> probe, CancelToken& cancel);
  ~Running();
  Running(const Running&) = delete;
  Running& operator=(const Running&) = delete;

  void begin(const std::string& label, const std::function<ProgressSample()>& sample, std::optional<std::uint64_t> estimate);
  void stop();
  double seconds() const;

 private:
  Observer& observer_;
  engine::StallWatchdog watchdog_;
  std::chrono::steady_clock::time_point start_;
  bool observed_ = false;
};

// Starts the sending pipeline, its stall watchdog and the observer ("send").
std::unique_ptr<Running> start_sending(engine::SendPipeline& pipeline, const source::Source& src, const TransferParams& t,
                                       Observer& observer, const Movement& movement, CancelToken& cancel);
// Starts the receiving pipeline, its stall watchdog and the observer ("recv").
std::unique_ptr<Running> start_receiving(engine::RecvPipeline& pipeline, const sink::Sink& sink, const TransferParams& t,
                                         Observer& observer, std::optional<std::uint64_t> estimate, const Movement& movement,
                                         CancelToken& cancel);

// The summaries of a finished pipeline; the caller adds what only it knows.
TransferSummary sent_summary(engine::SendPipeline& pipeline, const Running& run, const std::string& source);
TransferSummary received_summary(engine::RecvPipeline& pipeline, const Running& run, const std::string& source);

}  // namespace pgm::session
