#include "engine/lanes.h"

#include "engine/dispatcher.h"

#include <string>

namespace pgm::engine {

void CreditGate::acknowledge(std::uint64_t delivered) {
  std::lock_guard<std::mutex> lock(mu_);
  if (delivered > acked_) {
    acked_ = delivered;
    cv_.notify_all();
  }
}

void CreditGate::set_window(std::uint64_t window) {
  std::lock_guard<std::mutex> lock(mu_);
  window_ = window ? window : 1;
  cv_.notify_all();
}

std::uint64_t CreditGate::acknowledged() const {
  std::lock_guard<std::mutex> lock(mu_);
  return acked_;
}

bool CreditGate::wait_for(std::uint64_t seq, const CancelToken& cancel) {
  std::unique_lock<std::mutex> lock(mu_);
  while (seq >= acked_ + window_) {
    if (cancel.cancelled()) return false;
    cv_.wait_for(lock, std::chrono::milliseconds(50));
  }
  return !cancel.cancelled();
}

Status run_dispatched_lane(ChunkDispatcher& dispatcher, int lane, const stream::StreamHeader& header, ByteWriter& out,
                           LaneCounters& counters, const CancelToken& cancel) {
  stream::StreamWriter writer(out);
  PGM_RETURN_IF_ERROR(writer.write_header(header));
  std::uint64_t frames = 0, bytes = 0;
  RateLimiter* rate = dispatcher.rate_limiter();
  while (auto chunk = dispatcher.next(lane, cancel)) {
    if (rate != nullptr && !rate->acquire(chunk->header.enc_len + stream::kRecordHeaderSize, cancel)) break;
    PGM_RETURN_IF_ERROR(writer.write_frame(chunk->header, chunk->payload.span()));
    ++frames;
    bytes += chunk->header.enc_len;
    counters.frames.fetch_add(1, std::memory_order_relaxed);
    counters.wire_bytes.fetch_add(chunk->header.enc_len + stream::kRecordHeaderSize, std::memory_order_relaxed);
  }
  if (cancel.cancelled()) return cancel.reason();
  stream::Trailer lane_end;
  lane_end.total_bytes = bytes;
  lane_end.chunk_count = frames;
  return writer.write_trailer(lane_end);
}

Status run_lane_receiver(ByteReader& in, const stream::StreamHeader& expected, RecvPipeline& pipeline, LaneCounters& counters) {
  const std::uint64_t epoch = pipeline.epoch();
  stream::StreamReader reader(in, /*strict_order=*/false);
  auto header = reader.read_header();
  if (!header) return header.status().context("data connection");
  if (header->session_id != expected.session_id || header->chunk_size != expected.chunk_size || header->codec != expected.codec)
    return Status(Errc::protocol, "a data connection belongs to another transfer (session " + stream::to_hex(header->session_id) + ")");
  std::uint64_t frames = 0, bytes = 0;
  for (;;) {
    auto item = reader.next();
    if (!item) return item.status().context("data connection");
    if (auto* frame = std::get_if<stream::Frame>(&*item)) {
      ++frames;
      bytes += frame->header.enc_len;
      counters.frames.fetch_add(1, std::memory_order_relaxed);
      counters.wire_bytes.fetch_add(frame->header.enc_len + stream::kRecordHeaderSize, std::memory_order_relaxed);
      PGM_RETURN_IF_ERROR(pipeline.submit(std::move(*frame), epoch));
      continue;
    }
    const auto& t = std::get<stream::Trailer>(*item);
    if (t.chunk_count != frames || t.total_bytes != bytes)
      return Status(Errc::corrupt, "data connection ended after " + std::to_string(frames) + " frames but says it carried " +
                                       std::to_string(t.chunk_count));
    return Status::Ok();
  }
}

}  // namespace pgm::engine
