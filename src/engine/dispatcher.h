// Hands chunks to the lanes of a remote transfer and keeps every chunk until the receiver
// has written it to its consumer, so that a lane that drops, or a chunk that arrives
// corrupt, costs a resend of what was in flight and nothing more.
//
//   pipeline.next() ──▶ kept (by seq, with the lane that carried it) ──▶ lanes
//                         ▲ requeue on lane failure / nack      │ drop on acknowledge
//
// New chunks are credit-gated (seq < acknowledged + window); resends are not, since they
// were inside the window when first sent. The kept set is bounded by that window.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>

#include "engine/lanes.h"
#include "engine/send_pipeline.h"

namespace pgm::engine {

struct DispatchCounters {
  std::atomic<std::uint64_t> resent_chunks{0};
  std::atomic<std::uint64_t> resent_bytes{0};
  std::atomic<std::uint64_t> lane_failures{0};
};

class ChunkDispatcher {
 public:
  ChunkDispatcher(SendPipeline& pipeline, CreditGate& gate) : pipeline_(pipeline), gate_(gate) {}

  // The next chunk for `lane`: a pending resend first, else a new chunk. Blocks while there
  // is nothing to send; returns nullptr once complete() was called or on cancellation.
  std::shared_ptr<const EncodedChunk> next(int lane, const CancelToken& cancel);
  // The receiver has written chunks [0, delivered) to its consumer.
  void acknowledge(std::uint64_t delivered);
  // `lane` failed: every chunk it carried that is not acknowledged is sent again.
  void lane_failed(int lane);
  // The receiver refused chunk `seq` (checksum mismatch): send it again.
  void resend(std::uint64_t seq);
  // Every chunk was handed out at least once (the trailer may go).
  bool exhausted() const;
  // The transfer is over: lanes finish.
  void complete();
  const DispatchCounters& counters() const { return counters_; }
  RateLimiter* rate_limiter() const { return pipeline_.rate_limiter(); }
  // Testing aid: flip one payload byte of chunk `seq` the first time it is sent.
  void inject_corruption(std::uint64_t seq) { corrupt_seq_ = seq; }

 private:
  struct Kept {
    std::shared_ptr<const EncodedChunk> chunk;
    int lane = -1;
  };
  std::shared_ptr<const EncodedChunk> maybe_corrupt(std::shared_ptr<const EncodedChunk> chunk);

  SendPipeline& pipeline_;
  CreditGate& gate_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::uint64_t, Kept> kept_;
  std::deque<std::uint64_t> resend_;
  std::uint64_t acked_ = 0;
  bool exhausted_ = false;
  bool complete_ = false;
  bool pulling_ = false;  // a lane is inside pipeline_.next()
  std::uint64_t corrupt_seq_ = UINT64_MAX;
  DispatchCounters counters_;
};

}  // namespace pgm::engine
