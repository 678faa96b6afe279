// The sending half of the engine:
//
//   source fd --[reader thread: large reads, fixed-size chunks]--> work queue
//     --[N encoder threads: zstd + XXH3]--> completed map --next()--> transport lanes
//
// next() hands chunks out in sequence order; any number of transport threads may call it.
// A chunk holds a budget slot from the moment it is read until the transport drops it, so
// memory stays under slots x ~2 chunk sizes however slow the transport is.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "codec/codec.h"
#include "common/bounded_queue.h"
#include "common/buffer.h"
#include "common/cancel.h"
#include "engine/budget.h"
#include "engine/rate_limiter.h"
#include "stream/format.h"

namespace pgm::engine {

struct SendOptions {
  std::uint32_t chunk_size = 4 << 20;
  int level = 3;                // codec::kNoCompression for none
  unsigned workers = 2;         // encoder threads
  std::size_t max_chunks = 16;  // budget slots
  // Adaptive compression: when above 0, the level moves between 1 and this, once a second:
  // up while encoded chunks wait for the transport (the link is the bottleneck and the CPU
  // has room to shrink them more), down while raw chunks wait for the encoders (the CPU is).
  int adaptive_max_level = 0;
  // Resuming: the receiver already has the first `skip_chunks` chunks. They are read and
  // checksummed but not compressed or handed out; once they have passed, their digest must
  // equal `skip_digest` (else the source is not reproducing the same stream: Errc::corrupt).
  std::uint64_t skip_chunks = 0;
  stream::Digest skip_digest{};
  // The transfer's bandwidth cap, shared by every lane that carries this pipeline's chunks;
  // null: unlimited. Not owned: it outlives the pipeline.
  RateLimiter* rate = nullptr;
};

struct EncodedChunk {
  stream::FrameHeader header;
  Buffer payload;
  BudgetSlot slot;
};

struct SendCounters {
  std::atomic<std::uint64_t> raw_bytes{0};      // read from the source
  std::atomic<std::uint64_t> encoded_bytes{0};  // handed to the transport (payloads)
  std::atomic<std::uint64_t> chunks{0};
  std::atomic<bool> waiting_for_source{false};  // the reader is blocked on the producer
  std::atomic<std::uint64_t> skipped_bytes{0};  // resuming: regenerated, checked, not sent
  std::atomic<int> level{0};                    // the zstd level in use
  std::atomic<std::uint64_t> level_changes{0};
};

class SendPipeline {
 public:
  // The pipeline reads `source_fd` until EOF. Failures cancel `cancel` with the reason.
  SendPipeline(SendOptions options, int source_fd, CancelToken& cancel);
  // The bandwidth cap lanes reserve their frames from (null: none).
  RateLimiter* rate_limiter() const { return options_.rate; }
  ~SendPipeline();
  SendPipeline(const SendPipeline&) = delete;
  SendPipeline& operator=(const SendPipeline&) = delete;

  void start();
  // Before start(): read from another source (the producer was replaced, e.g. by a resume).
  void set_source_fd(int fd) { source_fd_ = fd; }
  // Before start(): the receiver already has the first `chunks` chunks (SendOptions::skip_chunks).
  void resume_from(std::uint64_t chunks, const stream::Digest& digest) {
    options_.skip_chunks = chunks;
    options_.skip_digest = digest;
  }
  // The next chunk in sequence order; nullopt at the end of the source or on cancellation
  // (check cancel.cancelled()).
  std::optional<EncodedChunk> next();
  // Valid once next() has returned nullopt without cancellation.
  stream::Trailer trailer() const;
  const SendCounters& counters() const { return counters_; }
  // Lets an adaptive controller change the zstd level between chunks.
  void set_level(int level) {
    level_.store(level, std::memory_order_relaxed);
    counters_.level.store(level, std::memory_order_relaxed);
  }

 private:
  struct RawChunk {
    std::uint64_t seq;
    Buffer data;
    BudgetSlot slot;
  };
  void read_loop();
  void encode_loop();
  void adapt_loop();
  void join();
  bool check_skipped_prefix();  // under mu_

  SendOptions options_;
  int source_fd_;
  CancelToken& cancel_;
  ChunkBudget budget_;
  BoundedQueue<RawChunk> work_;
  std::atomic<int> level_;
  SendCounters counters_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::uint64_t, EncodedChunk> done_;
  std::optional<std::uint64_t> end_seq_;  // set by the reader at EOF: the chunk count
  std::uint64_t next_seq_ = 0;
  std::uint64_t total_bytes_ = 0;
  stream::StreamDigest digest_;

  std::vector<std::thread> threads_;
};

}  // namespace pgm::engine
