#include "engine/dispatcher.h"

#include <cstring>

namespace pgm::engine {

std::shared_ptr<const EncodedChunk> ChunkDispatcher::next(int lane, const CancelToken& cancel) {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (cancel.cancelled() || complete_) return nullptr;
    while (!resend_.empty()) {
      std::uint64_t seq = resend_.front();
      resend_.pop_front();
      auto it = kept_.find(seq);
      if (it == kept_.end()) continue;  // acknowledged meanwhile
      it->second.lane = lane;
      counters_.resent_chunks.fetch_add(1, std::memory_order_relaxed);
      counters_.resent_bytes.fetch_add(it->second.chunk->header.enc_len, std::memory_order_relaxed);
      return it->second.chunk;
    }
    if (!exhausted_ && !pulling_) {
      // One lane at a time pulls from the pipeline, outside the lock: next() and the credit
      // wait may block for long.
      pulling_ = true;
      lock.unlock();
      std::optional<EncodedChunk> chunk = pipeline_.next();
      bool allowed = chunk && gate_.wait_for(chunk->header.seq, cancel);
      lock.lock();
      pulling_ = false;
      cv_.notify_all();
      if (!chunk) {
        if (!cancel.cancelled()) exhausted_ = true;
        continue;
      }
      if (!allowed) return nullptr;
      auto shared = std::make_shared<const EncodedChunk>(std::move(*chunk));
      const std::uint64_t seq = shared->header.seq;
      if (seq < acked_) continue;  // cannot happen: new chunks are beyond every ack
      kept_[seq] = Kept{shared, lane};
      return maybe_corrupt(shared);
    }
    cv_.wait_for(lock, std::chrono::milliseconds(100));
  }
}

std::shared_ptr<const EncodedChunk> ChunkDispatcher::maybe_corrupt(std::shared_ptr<const EncodedChunk> chunk) {
  if (chunk->header.seq != corrupt_seq_ || chunk->payload.size() == 0) return chunk;
  corrupt_seq_ = UINT64_MAX;  // once
  auto bad = std::make_shared<EncodedChunk>();
  bad->header = chunk->header;
  bad->payload = Buffer(chunk->payload.size());
  std::memcpy(bad->payload.data(), chunk->payload.data(), chunk->payload.size());
  bad->payload.resize(chunk->payload.size());
  bad->payload.data()[bad->payload.size() / 2] ^= 0x40;
  return bad;
}

void ChunkDispatcher::acknowledge(std::uint64_t delivered) {
  gate_.acknowledge(delivered);
  std::lock_guard<std::mutex> lock(mu_);
  if (delivered <= acked_) return;
  acked_ = delivered;
  kept_.erase(kept_.begin(), kept_.lower_bound(delivered));
  cv_.notify_all();
}

void ChunkDispatcher::lane_failed(int lane) {
  std::lock_guard<std::mutex> lock(mu_);
  counters_.lane_failures.fetch_add(1, std::memory_order_relaxed);
  for (auto& [seq, kept] : kept_) {
    if (kept.lane == lane) {
      kept.lane = -1;
      resend_.push_back(seq);
    }
  }
  cv_.notify_all();
}

void ChunkDispatcher::resend(std::uint64_t seq) {
  std::lock_guard<std::mutex> lock(mu_);
  if (kept_.count(seq) != 0) resend_.push_back(seq);
  cv_.notify_all();
}

bool ChunkDispatcher::exhausted() const {
  std::lock_guard<std::mutex> lock(mu_);
  return exhausted_;
}

void ChunkDispatcher::complete() {
  std::lock_guard<std::mutex> lock(mu_);
  complete_ = true;
  cv_.notify_all();
}

}  // namespace pgm::engine
