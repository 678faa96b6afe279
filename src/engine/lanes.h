// Several lanes (data connections) carrying one stream. Chunks are taken from the send
// pipeline by whichever lane is free, so a slow connection never stalls the others; the
// receiver reorders. Credits bound what is in flight: a lane may send chunk `seq` only once
// seq < acknowledged + window, where `acknowledged` is how many chunks the receiving half
// has written to its consumer. Each lane starts with the stream header (so the receiver can
// check the session) and ends with a lane trailer counting the frames it carried.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "engine/recv_pipeline.h"
#include "engine/send_pipeline.h"
#include "stream/reader.h"

namespace pgm::engine {

class CreditGate {
 public:
  explicit CreditGate(std::uint64_t window) : window_(window ? window : 1) {}
  void acknowledge(std::uint64_t delivered);
  void set_window(std::uint64_t window);
  // Blocks until `seq` may be sent; false if cancelled.
  bool wait_for(std::uint64_t seq, const CancelToken& cancel);
  std::uint64_t acknowledged() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t acked_ = 0;
  std::uint64_t window_;
};

struct LaneCounters {
  std::atomic<std::uint64_t> frames{0};
  std::atomic<std::uint64_t> wire_bytes{0};
};

class ChunkDispatcher;
// Sends chunks from a dispatcher (remote transfers, which can resend) until it completes,
// then the lane trailer. On failure the caller tells the dispatcher the lane failed.
Status run_dispatched_lane(ChunkDispatcher& dispatcher, int lane, const stream::StreamHeader& header, ByteWriter& out,
                           LaneCounters& counters, const CancelToken& cancel);

// Reads one lane: checks its header belongs to `expected`'s session, submits every frame,
// and checks the lane trailer's frame count.
Status run_lane_receiver(ByteReader& in, const stream::StreamHeader& expected, RecvPipeline& pipeline, LaneCounters& counters);

}  // namespace pgm::engine
