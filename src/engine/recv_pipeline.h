// The receiving half of the engine:
//
//   lanes --submit()--> decode queue --[N decoder threads: zstd + verify]--> reorder buffer
//     --[writer thread: in order, one chunk held back]--> sink (zfs recv's stdin)
//
// Only verified bytes reach the sink, in order, in whole-chunk writes. The last chunk
// written is always held back until the next one (or the verified trailer) arrives, so a
// stream cut short can never hand `zfs recv` a complete-looking stream.
// Memory: at most `window` chunks exist between submit() and the sink.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "common/bounded_queue.h"
#include "common/cancel.h"
#include "common/io.h"
#include "stream/format.h"
#include "stream/reader.h"

namespace pgm::engine {

struct RecvOptions {
  unsigned workers = 2;
  std::size_t window = 16;  // chunks between the lanes and the sink
  // Lanes that can resend (remote transfers): a chunk seen again is dropped quietly, and a
  // chunk that fails verification is reported here (to be asked for again) instead of
  // ending the transfer. Unset: both are errors (a single ordered stream cannot resend).
  std::function<void(std::uint64_t seq, const Status& why)> on_corrupt_chunk;
  // Called in order for every chunk the writer takes (verified, next in sequence), before
  // it counts as delivered: the journal records its checksum here.
  std::function<void(std::uint32_t raw_len, std::uint64_t checksum)> on_take;
};

struct RecvCounters {
  std::atomic<std::uint64_t> wire_bytes{0};       // payload bytes received
  std::atomic<std::uint64_t> delivered_bytes{0};  // raw bytes written to the sink
  std::atomic<std::uint64_t> delivered_chunks{0};
  std::atomic<bool> writing_to_sink{false};      // the writer is blocked on the consumer
  std::atomic<std::uint64_t> duplicates{0};      // resent chunks that had already arrived
  std::atomic<std::uint64_t> corrupt_chunks{0};  // chunks refused and asked for again
};

class RecvPipeline {
 public:
  RecvPipeline(const stream::StreamHeader& header, const RecvOptions& options, ByteWriter& sink, CancelToken& cancel);
  ~RecvPipeline();
  RecvPipeline(const RecvPipeline&) = delete;
  RecvPipeline& operator=(const RecvPipeline&) = delete;

  void start();
  // Called by lane threads. Blocks while the chunk lies beyond the window. A chunk seen
  // before is an error (Errc::corrupt).
  // `epoch` (from epoch()) ties the frame to the sender a lane belongs to: after
  // rewind_to_taken() frames of an earlier epoch are refused (Errc::network).
  Status submit(stream::Frame frame, std::optional<std::uint64_t> epoch = std::nullopt);
  std::uint64_t epoch() const;
  // No more frames will be submitted (a single lane that reached its end).
  void close_input();
  // Waits until every chunk the trailer counts has been verified and delivered (lanes may
  // still be submitting), checks the trailer against them, then releases the held-back chunk
  // to the sink. Returns the outcome of the whole stream. Pair with close_input() or a
  // stall watchdog: a chunk that never arrives is otherwise waited for.
  Status finish(const stream::Trailer& trailer);
  // The number of chunks handed to the sink so far, for acknowledgements.
  std::uint64_t delivered() const { return counters_.delivered_chunks.load(std::memory_order_acquire); }
  // A sender that went away is coming back and will send again from the returned chunk:
  // waits for chunks still being decoded, then forgets every chunk not yet taken by the
  // writer, so that nothing after that point comes from the old sender. Call it only while
  // no lane submits. The first `n` chunks are the ones on_take has seen.
  std::uint64_t rewind_to_taken();
  // Stops without a trailer: nothing held back is written.
  void abandon(Status reason);

  // The first failure anywhere in the pipeline (or a cancellation), else Ok. A lane that
  // fails because another part failed first reports this, not its own symptom.
  Status first_error() const { return cancel_.cancelled() ? cancel_.reason() : Status::Ok(); }

  const RecvCounters& counters() const { return counters_; }
  stream::Digest digest() const;

 private:
  void decode_loop();
  void write_loop();
  // What the writer does next: write a chunk (taken in order), judge the trailer, or stop.
  enum class Next : std::uint8_t { chunk, trailer, cancelled };
  // Waits for the next chunk in order (or the trailer, or a cancel); a chunk is taken out of
  // the reorder buffer and added to the digest.
  Next take_next(Buffer& chunk, std::uint64_t& seq);
  // The trailer against what was taken: chunk count, total bytes, whole-stream digest.
  Status check_trailer(std::uint64_t verified_bytes);
  // Writes a chunk to the sink and counts it.
  Status deliver(const Buffer& chunk);

  stream::StreamHeader header_;
  RecvOptions options_;
  ByteWriter& sink_;
  CancelToken& cancel_;
  BoundedQueue<stream::Frame> decode_queue_;
  RecvCounters counters_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t base_ = 0;                 // next chunk to hand to the sink
  std::uint64_t epoch_ = 0;                // bumped by rewind_to_taken()
  std::set<std::uint64_t> accepted_;       // submitted, not yet delivered
  std::map<std::uint64_t, Buffer> ready_;  // verified, waiting for their turn
  std::map<std::uint64_t, std::uint64_t> checksums_;
  std::optional<stream::Trailer> trailer_;
  bool finished_ = false;  // writer thread has ended
  bool input_closed_ = false;
  Status outcome_;
  stream::StreamDigest digest_;
  stream::Digest final_digest_{};

  std::vector<std::thread> threads_;
};

}  // namespace pgm::engine
