#include "engine/send_pipeline.h"

#include "common/fd.h"

namespace pgm::engine {

SendPipeline::SendPipeline(SendOptions options, int source_fd, CancelToken& cancel)
    : options_(options),
      source_fd_(source_fd),
      cancel_(cancel),
      budget_(options.max_chunks),
      work_(options.max_chunks),
      level_(options.level) {}

SendPipeline::~SendPipeline() {
  if (!threads_.empty() && !cancel_.cancelled()) {
    // Destroyed before the end: stop the threads rather than wait for the source.
    cancel_.cancel(Status(Errc::internal, "send pipeline destroyed while running"));
  }
  join();
}

void SendPipeline::join() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    cv_.notify_all();
  }
  // After a cancellation the encoders stop popping: a reader blocked on a full work queue
  // must be woken too.
  if (cancel_.cancelled()) work_.close();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void SendPipeline::start() {
  const unsigned workers = options_.workers ? options_.workers : 1;
  for (unsigned i = 0; i < workers; ++i) threads_.emplace_back([this] { encode_loop(); });
  threads_.emplace_back([this] { read_loop(); });
  counters_.level.store(level_.load(), std::memory_order_relaxed);
  if (options_.adaptive_max_level > 0 && options_.level > 0) threads_.emplace_back([this] { adapt_loop(); });
}

void SendPipeline::adapt_loop() {
  constexpr int kSamples = 10;  // one decision per second
  double raw_waiting = 0, encoded_waiting = 0;
  int samples = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(100), [&] { return cancel_.cancelled() || end_seq_.has_value(); });
      if (cancel_.cancelled() || end_seq_) return;
      encoded_waiting += static_cast<double>(done_.size());
    }
    raw_waiting += static_cast<double>(work_.size());
    if (++samples < kSamples) continue;
    raw_waiting /= samples;
    encoded_waiting /= samples;
    const int level = level_.load(std::memory_order_relaxed);
    int next = level;
    if (encoded_waiting > raw_waiting + 1.0 && level < options_.adaptive_max_level) next = level + 1;
    if (raw_waiting > encoded_waiting + 1.0 && level > 1) next = level - 1;
    if (next != level) {
      set_level(next);
      counters_.level_changes.fetch_add(1, std::memory_order_relaxed);
    }
    raw_waiting = encoded_waiting = 0;
    samples = 0;
  }
}

void SendPipeline::read_loop() {
  std::uint64_t seq = 0;
  for (;;) {
    if (!budget_.acquire(cancel_)) break;
    BudgetSlot slot(&budget_);
    Buffer raw(options_.chunk_size);
    counters_.waiting_for_source.store(true, std::memory_order_relaxed);
    auto n = read_full(source_fd_, raw.whole(), cancel_);
    counters_.waiting_for_source.store(false, std::memory_order_relaxed);
    if (!n) {
      cancel_.cancel(n.status().context("reading the source"));
      break;
    }
    if (*n == 0) break;
    raw.resize(*n);
    counters_.raw_bytes.fetch_add(*n, std::memory_order_relaxed);
    if (!work_.push(RawChunk{seq, std::move(raw), std::move(slot)})) break;
    ++seq;
    if (*n < options_.chunk_size) break;  // a short read only happens at EOF
  }
  work_.close();
  std::lock_guard<std::mutex> lock(mu_);
  end_seq_ = seq;
  cv_.notify_all();
}

void SendPipeline::encode_loop() {
  codec::Encoder encoder(level_.load(std::memory_order_relaxed));
  while (auto raw = work_.pop()) {
    if (cancel_.cancelled()) break;
    codec::Encoded enc;
    if (raw->seq < options_.skip_chunks) {
      // The receiver has it: only its checksum matters (for the prefix check).
      enc.header.raw_len = static_cast<std::uint32_t>(raw->data.size());
      enc.header.checksum = stream::chunk_checksum(raw->data.span());
    } else {
      encoder.set_level(level_.load(std::memory_order_relaxed));
      enc = encoder.encode(std::move(raw->data));
    }
    enc.header.seq = raw->seq;
    enc.header.offset = raw->seq * options_.chunk_size;
    std::lock_guard<std::mutex> lock(mu_);
    done_.emplace(raw->seq, EncodedChunk{enc.header, std::move(enc.payload), std::move(raw->slot)});
    cv_.notify_all();
  }
}

std::optional<EncodedChunk> SendPipeline::next() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (cancel_.cancelled()) return std::nullopt;
    auto it = done_.find(next_seq_);
    if (it != done_.end()) {
      EncodedChunk chunk = std::move(it->second);
      done_.erase(it);
      digest_.add(chunk.header.seq, chunk.header.raw_len, chunk.header.checksum);
      total_bytes_ += chunk.header.raw_len;
      ++next_seq_;
      if (chunk.header.seq < options_.skip_chunks) {
        counters_.skipped_bytes.fetch_add(chunk.header.raw_len, std::memory_order_relaxed);
        if (next_seq_ == options_.skip_chunks && !check_skipped_prefix()) return std::nullopt;
        continue;  // its budget slot is released here
      }
      counters_.encoded_bytes.fetch_add(chunk.header.enc_len, std::memory_order_relaxed);
      counters_.chunks.fetch_add(1, std::memory_order_relaxed);
      return chunk;
    }
    if (end_seq_ && next_seq_ >= *end_seq_) {
      if (next_seq_ < options_.skip_chunks) {
        cancel_.cancel(Status(Errc::corrupt, "the regenerated stream ended after " + std::to_string(next_seq_) +
                                                 " chunks, but the receiver already has " + std::to_string(options_.skip_chunks) +
                                                 ": the source did not produce the same stream again"));
      }
      return std::nullopt;
    }
    cv_.wait_for(lock, std::chrono::milliseconds(100));
  }
}

bool SendPipeline::check_skipped_prefix() {
  if (digest_.finish() == options_.skip_digest) return true;
  cancel_.cancel(Status(Errc::corrupt, "the regenerated stream differs from the " + std::to_string(options_.skip_chunks) +
                                           " chunks the receiver already has: the source did not produce the same stream "
                                           "again, so the transfer cannot resume (abort it and start over)"));
  return false;
}

stream::Trailer SendPipeline::trailer() const {
  std::lock_guard<std::mutex> lock(mu_);
  stream::Trailer t;
  t.total_bytes = total_bytes_;
  t.chunk_count = next_seq_;
  t.digest = digest_.finish();
  return t;
}

}  // namespace pgm::engine
