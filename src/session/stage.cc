#include "session/stage.h"

#include <algorithm>

#include "common/random.h"

namespace pgm::session {

engine::SendOptions send_options(const TransferParams& t, engine::RateLimiter* rate) {
  engine::SendOptions s;
  s.rate = rate;
  s.chunk_size = t.chunk_size;
  s.level = t.level;
  s.adaptive_max_level = t.adaptive_max_level;
  s.workers = t.workers;
  s.max_chunks = t.max_chunks;
  return s;
}

engine::RecvOptions recv_options(const TransferParams& t, std::uint32_t chunk_size) {
  engine::RecvOptions r;
  r.workers = t.workers;
  // The sender chose the chunk size: keep the memory bound in chunks of that size. A chunk in
  // flight holds up to a raw and an encoded copy.
  r.window = std::max<std::size_t>(4, t.max_memory / (2ull * chunk_size));
  return r;
}

Result<stream::SessionId> new_session_id() {
  stream::SessionId id{};
  PGM_RETURN_IF_ERROR(random_bytes(id).context("a session id"));
  return id;
}

Result<stream::StreamHeader> new_stream_header(const TransferParams& t, const source::Source& src) {
  auto id = new_session_id();
  if (!id) return id.status();
  return stream_header(t, src, *id);
}

stream::StreamHeader stream_header(const TransferParams& t, const source::Source& src, const stream::SessionId& session) {
  stream::StreamHeader header;
  header.codec = t.codec;
  header.chunk_size = t.chunk_size;
  header.session_id = session;
  header.snapshot_guid = src.snapshot_guid;
  header.snapshot_name = src.snapshot_name;
  return header;
}

Running::Running(Observer& observer, std::chrono::milliseconds stall_timeout, std::function<engine::Activity()> probe, CancelToken& cancel)
    : observer_(observer), watchdog_(stall_timeout, std::move(probe), cancel), start_(std::chrono::steady_clock::now()) {}

Running::~Running() { stop(); }

void Running::begin(const std::string& label, const std::function<ProgressSample()>& sample, std::optional<std::uint64_t> estimate) {
  start_ = std::chrono::steady_clock::now();
  observed_ = true;
  observer_.started(label, sample, estimate);
}

void Running::stop() {
  if (!observed_) return;
  observed_ = false;
  observer_.stopped();
}

double Running::seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

namespace {

std::uint64_t value_of(const std::function<std::uint64_t()>& f) { return f ? f() : 0; }

// A pipeline's counters with what the transfer's lanes add.
ProgressSample with_lanes(std::uint64_t logical_bytes, std::uint64_t wire_bytes, std::uint64_t chunks, const Movement& m) {
  ProgressSample p;
  p.logical_bytes = logical_bytes;
  p.wire_bytes = wire_bytes;
  p.chunks = chunks;
  if (m.lane_bytes) p.lane_bytes = m.lane_bytes();
  p.drops = value_of(m.drops);
  p.reconnects = value_of(m.reconnects);
  p.resent_bytes = value_of(m.resent_bytes);
  p.rate_limit = value_of(m.rate_limit);
  if (m.lanes_up) p.lanes_up = m.lanes_up();
  p.session = m.session;
  return p;
}

}  // namespace

namespace {

// The order every transfer starts in: the watchdog first (it times from now), then the
// pipeline, then the observer.
template <typename Pipeline>
std::unique_ptr<Running> start_watched(Pipeline& pipeline, Observer& observer, const TransferParams& t,
                                       std::function<engine::Activity()> probe, const std::string& label,
                                       const std::function<ProgressSample()>& sample, std::optional<std::uint64_t> estimate,
                                       CancelToken& cancel) {
  auto run = std::make_unique<Running>(observer, t.stall_timeout, std::move(probe), cancel);
  pipeline.start();
  run->begin(label, sample, estimate);
  return run;
}

}  // namespace

std::unique_ptr<Running> start_sending(engine::SendPipeline& pipeline, const source::Source& src, const TransferParams& t,
                                       Observer& observer, const Movement& m, CancelToken& cancel) {
  const auto& c = pipeline.counters();
  return start_watched(
      pipeline, observer, t,
      [&c, &src, m] {
        return engine::Activity{c.raw_bytes.load() + value_of(m.activity),
                                c.waiting_for_source.load() ? "the producer ('" + src.describe + "') stalled" : m.idle};
      },
      "send",
      [&c, m, rate = pipeline.rate_limiter()] {
        ProgressSample p = with_lanes(c.raw_bytes.load(), c.encoded_bytes.load(), c.chunks.load(), m);
        if (rate != nullptr) p.rate_limit = rate->rate();
        return p;
      },
      src.estimated_size, cancel);
}

std::unique_ptr<Running> start_receiving(engine::RecvPipeline& pipeline, const sink::Sink& sink, const TransferParams& t,
                                         Observer& observer, std::optional<std::uint64_t> estimate, const Movement& m,
                                         CancelToken& cancel) {
  const auto& c = pipeline.counters();
  return start_watched(
      pipeline, observer, t,
      [&c, &sink, m] {
        return engine::Activity{c.wire_bytes.load() + c.delivered_bytes.load() + value_of(m.activity),
                                c.writing_to_sink.load() ? "the consumer ('" + sink.describe + "') stopped reading" : m.idle};
      },
      "recv", [&c, m] { return with_lanes(c.delivered_bytes.load(), c.wire_bytes.load(), c.delivered_chunks.load(), m); }, estimate,
      cancel);
}

TransferSummary sent_summary(engine::SendPipeline& pipeline, const Running& run, const std::string& source) {
  TransferSummary sum;
  sum.direction = TransferSummary::Direction::sent;
  // A resumed stream regenerates the prefix the receiver had: checked, not sent again.
  sum.skipped_bytes = pipeline.counters().skipped_bytes.load();
  sum.logical_bytes = pipeline.counters().raw_bytes.load() - sum.skipped_bytes;
  sum.wire_bytes = pipeline.counters().encoded_bytes.load();
  sum.seconds = run.seconds();
  sum.digest = stream::to_hex(pipeline.trailer().digest);
  sum.source = source;
  return sum;
}

TransferSummary received_summary(engine::RecvPipeline& pipeline, const Running& run, const std::string& source) {
  TransferSummary sum;
  sum.direction = TransferSummary::Direction::received;
  sum.logical_bytes = pipeline.counters().delivered_bytes.load();
  sum.wire_bytes = pipeline.counters().wire_bytes.load();
  sum.seconds = run.seconds();
  sum.digest = stream::to_hex(pipeline.digest());
  sum.source = source;
  return sum;
}

}  // namespace pgm::session
