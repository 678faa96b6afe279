#include "engine/recv_pipeline.h"

#include <string>

#include "codec/codec.h"

namespace pgm::engine {

RecvPipeline::RecvPipeline(const stream::StreamHeader& header, const RecvOptions& options, ByteWriter& sink, CancelToken& cancel)
    : header_(header), options_(options), sink_(sink), cancel_(cancel), decode_queue_(options.window) {
  if (options_.window < 2) options_.window = 2;
}

RecvPipeline::~RecvPipeline() {
  if (!threads_.empty()) abandon(Status(Errc::internal, "receive pipeline destroyed while running"));
  decode_queue_.close();
  for (auto& t : threads_) t.join();
}

void RecvPipeline::start() {
  const unsigned workers = options_.workers ? options_.workers : 1;
  for (unsigned i = 0; i < workers; ++i) threads_.emplace_back([this] { decode_loop(); });
  threads_.emplace_back([this] { write_loop(); });
}

std::uint64_t RecvPipeline::epoch() const {
  std::lock_guard<std::mutex> lock(mu_);
  return epoch_;
}

Status RecvPipeline::submit(stream::Frame frame, std::optional<std::uint64_t> epoch) {
  const std::uint64_t seq = frame.header.seq;
  {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      if (cancel_.cancelled()) return cancel_.reason();
      if (epoch && *epoch != epoch_) return Status(Errc::network, "this data connection belongs to a sender that was replaced");
      if (input_closed_) return Status(Errc::internal, "submit after close_input");
      if (trailer_ && seq >= trailer_->chunk_count)
        return Status(Errc::corrupt,
                      "chunk " + std::to_string(seq) + " lies beyond the trailer's chunk count " + std::to_string(trailer_->chunk_count));
      if (seq < base_ || accepted_.count(seq) != 0) {
        if (options_.on_corrupt_chunk) {
          counters_.duplicates.fetch_add(1, std::memory_order_relaxed);
          return Status::Ok();
        }
        return Status(Errc::corrupt, "duplicate chunk " + std::to_string(seq) + " (offset " + std::to_string(frame.header.offset) + ")");
      }
      if (seq < base_ + options_.window) break;
      cv_.wait_for(lock, std::chrono::milliseconds(100));
    }
    accepted_.insert(seq);
  }
  counters_.wire_bytes.fetch_add(frame.header.enc_len, std::memory_order_relaxed);
  if (!decode_queue_.push(frame)) return cancel_.cancelled() ? cancel_.reason() : Status(Errc::internal, "decode queue closed");
  return Status::Ok();
}

void RecvPipeline::decode_loop() {
  codec::Decoder decoder;
  while (auto frame = decode_queue_.pop()) {
    if (cancel_.cancelled()) break;
    const stream::FrameHeader h = frame->header;
    auto raw = decoder.decode(h, std::move(frame->payload));
    if (!raw) {
      if (options_.on_corrupt_chunk) {
        // Forget it was accepted, so the resend is taken, and ask for it again.
        {
          std::lock_guard<std::mutex> lock(mu_);
          accepted_.erase(h.seq);
          cv_.notify_all();
        }
        counters_.corrupt_chunks.fetch_add(1, std::memory_order_relaxed);
        options_.on_corrupt_chunk(h.seq, raw.status());
        continue;
      }
      cancel_.cancel(raw.status());
      break;
    }
    std::lock_guard<std::mutex> lock(mu_);
    ready_.emplace(h.seq, std::move(*raw));
    checksums_.emplace(h.seq, h.checksum);
    cv_.notify_all();
  }
  std::lock_guard<std::mutex> lock(mu_);
  cv_.notify_all();
}

RecvPipeline::Next RecvPipeline::take_next(Buffer& chunk, std::uint64_t& seq) {
  std::unique_lock<std::mutex> lock(mu_);
  bool trailer = false;
  for (;;) {
    if (cancel_.cancelled()) break;
    if (ready_.count(base_) != 0) break;
    // The trailer counts only once every accepted chunk has been verified and delivered.
    // Lanes may still deliver chunks after the trailer arrived (it travels on the
    // control channel): the trailer counts once every chunk it names is delivered, or
    // once no more input can come and the next chunk is missing.
    if (trailer_ && base_ >= trailer_->chunk_count) {
      trailer = true;
      break;
    }
    if (trailer_ && input_closed_ && accepted_.count(base_) == 0) {
      trailer = true;  // a gap that will never fill: check_trailer reports it
      break;
    }
    cv_.wait_for(lock, std::chrono::milliseconds(100));
  }
  if (cancel_.cancelled()) return Next::cancelled;
  if (trailer) return Next::trailer;
  auto it = ready_.find(base_);
  chunk = std::move(it->second);
  ready_.erase(it);
  seq = base_;
  std::uint64_t checksum = checksums_[seq];
  checksums_.erase(seq);
  accepted_.erase(seq);
  digest_.add(seq, static_cast<std::uint32_t>(chunk.size()), checksum);
  if (options_.on_take) options_.on_take(static_cast<std::uint32_t>(chunk.size()), checksum);
  ++base_;
  cv_.notify_all();
  return Next::chunk;
}

Status RecvPipeline::check_trailer(std::uint64_t verified_bytes) {
  std::unique_lock<std::mutex> lock(mu_);
  const stream::Trailer t = *trailer_;
  final_digest_ = digest_.finish();
  const bool gap = base_ != t.chunk_count || !accepted_.empty();
  lock.unlock();
  if (gap || t.chunk_count != base_) {
    return Status(Errc::truncated, "stream ended after " + std::to_string(base_) + " chunks but its trailer counts " +
                                       std::to_string(t.chunk_count) + ": chunk " + std::to_string(base_) + " (offset " +
                                       std::to_string(base_ * header_.chunk_size) + ") is missing");
  }
  if (t.total_bytes != verified_bytes)
    return Status(Errc::corrupt,
                  "trailer: total bytes " + std::to_string(t.total_bytes) + " != " + std::to_string(verified_bytes) + " received");
  if (t.digest != final_digest_) return Status(Errc::corrupt, "trailer: whole-stream digest mismatch");
  return Status::Ok();
}

Status RecvPipeline::deliver(const Buffer& chunk) {
  counters_.writing_to_sink.store(true, std::memory_order_relaxed);
  Status s = sink_.write_all(chunk.span());
  counters_.writing_to_sink.store(false, std::memory_order_relaxed);
  if (s.ok()) {
    counters_.delivered_bytes.fetch_add(chunk.size(), std::memory_order_relaxed);
    counters_.delivered_chunks.fetch_add(1, std::memory_order_relaxed);
  }
  return s;
}

// One chunk is held back until the next one (or the trailer) proves the stream goes on: the
// sink never sees the last chunk of a stream whose trailer does not check out.
void RecvPipeline::write_loop() {
  std::optional<Buffer> held;
  std::uint64_t held_seq = 0;
  std::uint64_t verified_bytes = 0;
  Status result;
  for (;;) {
    Buffer chunk;
    std::uint64_t seq = 0;
    const Next next = take_next(chunk, seq);
    if (next == Next::cancelled) {
      result = cancel_.reason();
      break;
    }
    if (next == Next::trailer) {
      result = check_trailer(verified_bytes);
      if (result.ok() && held) result = deliver(*held);
      break;
    }
    if (held && held->size() < header_.chunk_size) {
      result = Status(Errc::corrupt, "chunk " + std::to_string(seq) + " follows short chunk " + std::to_string(held_seq) +
                                         ": only the last chunk may be short");
      break;
    }
    verified_bytes += chunk.size();
    if (held) {
      Status s = deliver(*held);
      if (!s.ok()) {
        result = s.context("writing to the consumer");
        break;
      }
    }
    held = std::move(chunk);
    held_seq = seq;
  }
  if (!result.ok()) cancel_.cancel(result);
  std::lock_guard<std::mutex> lock(mu_);
  outcome_ = result;
  finished_ = true;
  cv_.notify_all();
}

void RecvPipeline::close_input() {
  std::lock_guard<std::mutex> lock(mu_);
  input_closed_ = true;
  cv_.notify_all();
}

Status RecvPipeline::finish(const stream::Trailer& trailer) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!trailer_) trailer_ = trailer;
  cv_.notify_all();
  while (!finished_) cv_.wait_for(lock, std::chrono::milliseconds(100));
  return outcome_;
}

std::uint64_t RecvPipeline::rewind_to_taken() {
  std::unique_lock<std::mutex> lock(mu_);
  // Frames already queued for decoding land in ready_ (or are refused and leave accepted_).
  auto pending = [&] {
    for (std::uint64_t seq : accepted_)
      if (ready_.count(seq) == 0) return true;
    return false;
  };
  ++epoch_;  // from here on, lanes of the old sender cannot add anything
  while (pending() && !cancel_.cancelled()) cv_.wait_for(lock, std::chrono::milliseconds(50));
  ready_.clear();
  checksums_.clear();
  accepted_.clear();
  cv_.notify_all();
  return base_;
}

void RecvPipeline::abandon(Status reason) {
  cancel_.cancel(std::move(reason));
  std::unique_lock<std::mutex> lock(mu_);
  cv_.notify_all();
  while (!finished_ && !threads_.empty()) cv_.wait_for(lock, std::chrono::milliseconds(100));
}

stream::Digest RecvPipeline::digest() const {
  std::lock_guard<std::mutex> lock(mu_);
  return final_digest_;
}

}  // namespace pgm::engine
