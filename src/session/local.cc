// The single-fd halves: the whole stream on one ordered lane (`send ... -` writes it to
// stdout, `recv - ...` reads it from stdin).
#include <sys/stat.h>

#include <spdlog/spdlog.h>

#include "common/fd.h"
#include "common/io.h"
#include "common/units.h"
#include "engine/single_lane.h"
#include "pgmigrate/session.h"
#include "session/stage.h"
#include "zfs/zfs.h"

namespace pgm::session {
namespace {

// The cancel's reason when a signal ended the transfer, else the transfer's own error.
Status interrupted_or_self(const CancelToken& cancel, Status s) {
  if (cancel.cancelled() && cancel.reason().code() == Errc::interrupted) return cancel.reason();
  return s;
}

std::string size_note(const std::string& source_name, const std::string& received, const std::string& privilege_wrapper) {
  const zfs::Zfs zfs = zfs::Zfs::with_wrapper(privilege_wrapper);
  auto ref = zfs.referenced(received);
  if (!ref) return {};
  return "target '" + received + "' references " + format_bytes(static_cast<double>(*ref)) + " (source '" + source_name +
         "' as sent). Note: df/used sizes may differ from the source because ZFS rewrites and repacks blocks on receive; the "
         "guid and stream digest are what prove the copy";
}

}  // namespace

Result<TransferSummary> send_to_fd(const source::SourceSpec& source_spec, int fd, const std::string& fd_name, const TransferParams& t,
                                   Observer& observer, CancelToken& cancel) {
  struct stat st {};
  if (::fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) set_nonblocking(fd, true);

  auto src = source::open_source(source_spec);
  if (!src) return src.status();
  auto new_header = new_stream_header(t, *src);
  if (!new_header) return new_header.status();
  const stream::StreamHeader header = *new_header;
  spdlog::info("sending '{}' as session {}", src->describe, stream::to_hex(header.session_id));

  // --rate caps this one lane too; a change while running reaches only remote transfers'
  // control loops (this thread is in the pump).
  engine::RateLimiter rate(t.rate);
  engine::SendPipeline pipeline(send_options(t, &rate), src->fd(), cancel);
  Movement movement;
  movement.activity = [&pipeline] { return pipeline.counters().encoded_bytes.load(); };
  movement.idle = "the reader of " + fd_name + " stopped reading";
  auto run = start_sending(pipeline, *src, t, observer, movement, cancel);
  FdWriter out(fd, cancel);
  Status s = engine::pump_to_writer(
      pipeline, header, out, [&] { return src->finish(); }, cancel);
  run->stop();
  if (!s.ok()) {
    src->process->terminate();
    s = interrupted_or_self(cancel, s);
    return s.code() == Errc::io && s.message().find("consumer closed") != std::string::npos
               ? Status(Errc::io, "the reader of " + fd_name + " went away before the stream ended (broken pipe)")
               : s;
  }
  return sent_summary(pipeline, *run, src->snapshot_name);
}

Result<TransferSummary> recv_from_fd(int fd, const std::string& fd_name, const sink::SinkSpec& sink_spec, const TransferParams& t,
                                     Observer& observer, CancelToken& cancel) {
  FdReader in(fd, cancel);
  stream::StreamReader reader(in, /*strict_order=*/true);
  auto header = reader.read_header();
  if (!header) return header.status();
  spdlog::info("receiving '{}' (guid {}), session {}, chunk size {}", header->snapshot_name, header->snapshot_guid,
               stream::to_hex(header->session_id), header->chunk_size);

  auto sink = sink::open_sink(sink_spec);
  if (!sink) return sink.status();
  FdWriter to_consumer(sink->fd(), cancel);
  engine::RecvPipeline pipeline(*header, recv_options(t, header->chunk_size), to_consumer, cancel);
  Movement movement;
  movement.idle = "no data arrived on " + fd_name;
  auto run = start_receiving(pipeline, *sink, t, observer, std::nullopt, movement, cancel);
  Status s = engine::pump_from_reader(reader, pipeline);
  run->stop();
  if (!s.ok()) {
    s = interrupted_or_self(cancel, s);
    // Whatever the consumer said matters when it is the reason the stream stopped.
    Status better = sink->abort_with(s);
    if (better.message() != s.message()) return better;
    std::string left = sink_spec.recv_cmd.empty() ? " Nothing unverified was written; the incomplete receive was aborted." : "";
    return Status(s.code(), s.message() + "." + left);
  }
  auto received = sink->finish(*header);
  if (!received) return received.status();
  TransferSummary sum = received_summary(pipeline, *run, header->snapshot_name);
  if (!received->empty()) {
    sum.received = *received;
    sum.verification = "verified: '" + *received + "' has the source's guid " + std::to_string(header->snapshot_guid);
    sum.sizes = size_note(header->snapshot_name, *received, sink_spec.privilege_wrapper);
  }
  return sum;
}

}  // namespace pgm::session
