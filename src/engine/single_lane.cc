#include "engine/single_lane.h"

namespace pgm::engine {

Status pump_to_writer(SendPipeline& pipeline, const stream::StreamHeader& header, ByteWriter& out,
                      const std::function<Status()>& before_trailer, const CancelToken& cancel) {
  stream::StreamWriter writer(out);
  PGM_RETURN_IF_ERROR(writer.write_header(header).context("writing the stream"));
  RateLimiter* rate = pipeline.rate_limiter();
  while (auto chunk = pipeline.next()) {
    if (rate != nullptr && !rate->acquire(chunk->header.enc_len + stream::kRecordHeaderSize, cancel)) break;
    PGM_RETURN_IF_ERROR(writer.write_frame(chunk->header, chunk->payload.span()).context("writing the stream"));
  }
  if (cancel.cancelled()) return cancel.reason();
  // Wait for the encoders and the producer before deciding whether the stream is whole.
  Status end = before_trailer ? before_trailer() : Status::Ok();
  if (!end.ok()) return end;
  return writer.write_trailer(pipeline.trailer()).context("writing the stream");
}

Status pump_from_reader(stream::StreamReader& reader, RecvPipeline& pipeline) {
  for (;;) {
    auto item = reader.next();
    if (!item) {
      pipeline.abandon(item.status());
      return pipeline.first_error();
    }
    if (auto* frame = std::get_if<stream::Frame>(&*item)) {
      Status s = pipeline.submit(std::move(*frame));
      if (!s.ok()) {
        pipeline.abandon(s);
        return pipeline.first_error();
      }
      continue;
    }
    pipeline.close_input();
    return pipeline.finish(std::get<stream::Trailer>(*item));
  }
}

}  // namespace pgm::engine
