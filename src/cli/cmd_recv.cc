// `pgmigrate recv SOURCE TARGET`: read a stream from stdin ("-") or pull it from a remote
// pgmigrate over SSH, verify every chunk, and feed `zfs receive` in order.
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "cli/endpoint.h"
#include "cli/guard_options.h"
#include "cli/progress.h"
#include "cli/remote_options.h"
#include "cli/remote_transfer.h"
#include "cli/summary.h"
#include "cli/transfer_options.h"
#include "common/units.h"
#include "engine/single_lane.h"
#include "engine/watchdog.h"
#include "sink/sink.h"
#include "transport/byte_stream.h"

namespace pgm::cli {
namespace {

struct RecvArgs {
  std::vector<std::string> positional;
  bool force = false;
  std::string recv_cmd;
  TransferOptions transfer;
  RemoteCliOptions remote;
  GuardCliOptions guard;
  std::string incremental, intermediate, send_cmd;
  bool replicate = false, props = false;
};

std::string size_note(const std::string& source_name, const std::string& received) {
  zfs::Zfs zfs;
  auto ref = zfs.referenced(received);
  if (!ref) return {};
  return "target '" + received + "' references " + format_bytes(static_cast<double>(*ref)) + " (source '" + source_name +
         "' as sent). Note: df/used sizes may differ from the source because ZFS rewrites and repacks blocks on receive; the "
         "guid and stream digest are what prove the copy";
}

Status recv_from_stdin(RunContext& ctx, const sink::SinkSpec& spec, const ResolvedTransfer& t, const TransferOptions& topts) {
  if (::isatty(0)) return Status(Errc::invalid_argument, "refusing to read a stream from a terminal: pipe 'pgmigrate send ... -' into it");
  transport::FdReader in(0, ctx.cancel);
  stream::StreamReader reader(in, /*strict_order=*/true);
  auto header = reader.read_header();
  if (!header) return header.status();
  spdlog::info("receiving '{}' (guid {}), session {}, chunk size {}", header->snapshot_name, header->snapshot_guid,
               stream::to_hex(header->session_id), header->chunk_size);

  auto sink = sink::open_sink(spec);
  if (!sink) return sink.status();
  transport::FdWriter to_consumer(sink->fd(), ctx.cancel);
  engine::RecvOptions ro = recv_options(t);
  // The sender chose the chunk size: keep the memory bound in chunks of that size.
  ro.window = recv_window(t, header->chunk_size);
  engine::RecvPipeline pipeline(*header, ro, to_consumer, ctx.cancel);
  Progress progress(
      parse_progress_mode(topts.progress, ctx.global.quiet), "recv",
      [&] {
        ProgressSample s;
        s.logical_bytes = pipeline.counters().delivered_bytes.load();
        s.wire_bytes = pipeline.counters().wire_bytes.load();
        s.chunks = pipeline.counters().delivered_chunks.load();
        return s;
      },
      std::nullopt);
  engine::StallWatchdog watchdog(
      t.stall_timeout,
      [&] {
        const auto& c = pipeline.counters();
        return engine::Activity{
            c.wire_bytes.load() + c.delivered_bytes.load(),
            c.writing_to_sink.load() ? "the consumer ('" + sink->describe + "') stopped reading" : "no data arrived on stdin"};
      },
      ctx.cancel);
  pipeline.start();
  progress.start();
  Status s = engine::pump_from_reader(reader, pipeline);
  progress.stop();
  if (!s.ok()) {
    if (ctx.cancel.cancelled() && ctx.cancel.reason().code() == Errc::interrupted) s = ctx.cancel.reason();
    // Whatever the consumer said matters when it is the reason the stream stopped.
    Status better = sink->abort_with(s);
    if (better.message() != s.message()) return better;
    std::string left = spec.recv_cmd.empty() ? " Nothing unverified was written; the incomplete receive was aborted." : "";
    return Status(s.code(), s.message() + "." + left);
  }
  auto received = sink->finish(*header);
  if (!received) return received.status();
  TransferSummary sum;
  sum.verb = "received";
  sum.logical_bytes = pipeline.counters().delivered_bytes.load();
  sum.wire_bytes = pipeline.counters().wire_bytes.load();
  sum.seconds = progress.elapsed_seconds();
  sum.digest = stream::to_hex(pipeline.digest());
  sum.source = header->snapshot_name;
  if (!received->empty()) {
    sum.received = *received;
    sum.verification = "verified: '" + *received + "' has the source's guid " + std::to_string(header->snapshot_guid);
    sum.sizes = size_note(header->snapshot_name, *received);
  }
  print_summary(sum, ctx.global.quiet);
  return Status::Ok();
}

}  // namespace

void register_recv(CLI::App& app, CommandFn& selected) {
  auto args = std::make_shared<RecvArgs>();
  CLI::App* cmd = app.add_subcommand("recv", "Receive a snapshot: from stdin ('-') or pull from [user@]host:POOL/FS@SNAP over SSH");
  cmd->alias("receive");
  cmd->add_option("source_and_target", args->positional,
                  "SOURCE TARGET (SOURCE is '-' or [user@]host:POOL/FS@SNAP); with --recv-cmd only SOURCE")
      ->required()
      ->expected(1, 2);
  cmd->add_flag("-F", args->force, "Roll back / overwrite the target (zfs receive -F); never implied");
  cmd->add_option("--recv-cmd", args->recv_cmd, "Shell command that consumes the stream on its stdin (replaces zfs receive)");
  cmd->add_option("-i", args->incremental, "Far side: incremental from this snapshot (@snap or POOL/FS@snap)");
  cmd->add_option("-I", args->intermediate, "Far side: incremental with all intermediate snapshots");
  cmd->add_flag("-R", args->replicate, "Far side: replication stream (zfs send -R)");
  cmd->add_flag("-p", args->props, "Far side: include properties (zfs send -p)");
  cmd->add_option("--send-cmd", args->send_cmd, "Far side: shell command whose stdout is the stream (replaces zfs send)");
  add_transfer_options(*cmd, args->transfer);
  add_remote_options(*cmd, args->remote);
  add_guard_options(*cmd, args->guard);
  cmd->callback([args, &selected] {
    selected = [args](RunContext& ctx) -> Status {
      sink::SinkSpec spec;
      std::string from;
      if (args->positional.size() == 2) {
        from = args->positional[0];
        spec.target = args->positional[1];
      } else {
        if (args->recv_cmd.empty()) return Status(Errc::invalid_argument, "recv needs SOURCE and TARGET (or SOURCE and --recv-cmd CMD)");
        from = args->positional[0];
      }
      spec.recv_cmd = args->recv_cmd;
      spec.flags.force = args->force;
      auto t = resolve(args->transfer);
      if (!t) return t.status();
      // Held for the whole transfer; a trip cancels it with the guard's reason.
      auto guard = start_guard(args->guard, ctx.cancel);
      if (!guard) return guard.status();
      auto endpoint = parse_endpoint(from);
      if (!endpoint) return endpoint.status();
      if (endpoint->stdio) return recv_from_stdin(ctx, spec, *t, args->transfer);
      auto remote = make_remote(args->remote, *endpoint);
      if (!remote) return remote.status();
      source::SourceSpec far;
      far.send_cmd = args->send_cmd;
      if (far.send_cmd.empty()) {
        PGM_RETURN_IF_ERROR(zfs::validate_snapshot(endpoint->name));
        far.snapshot = endpoint->name;
      }
      if (!args->incremental.empty()) far.flags.incremental = args->incremental;
      if (!args->intermediate.empty()) far.flags.intermediate = args->intermediate;
      far.flags.replicate = args->replicate;
      far.flags.props = args->props;
      if (spec.recv_cmd.empty()) {
        Status valid =
            spec.target.find('@') == std::string::npos ? zfs::validate_dataset(spec.target) : zfs::validate_snapshot(spec.target);
        if (!valid.ok()) return valid;
      }
      return pull_from_remote(ctx, far, spec, *t, args->transfer, *remote);
    };
  });
}

}  // namespace pgm::cli
