// `pgmigrate recv SOURCE TARGET`: read a stream from stdin ("-") or pull it from a remote
// pgmigrate over SSH, verify every chunk, and feed `zfs receive` in order.
#include <unistd.h>

#include "cli/command.h"
#include "cli/endpoint.h"
#include "cli/guard_options.h"
#include "cli/object_transfer.h"
#include "cli/progress.h"
#include "cli/remote_options.h"
#include "cli/remote_transfer.h"
#include "cli/transfer_options.h"
#include "cli/usage.h"
#include "cli/zfs_options.h"
#include "pgmigrate/session.h"
#include "sink/sink.h"
#include "zfs/zfs.h"

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
  objstore::ObjectSettings objects;
  ZfsOptions zfs_flags;
};

Status recv_from_stdin(RunContext& ctx, const sink::SinkSpec& spec, const ResolvedTransfer& t, const TransferOptions& topts) {
  if (::isatty(0)) return Status(Errc::invalid_argument, "refusing to read a stream from a terminal: pipe 'pgmigrate send ... -' into it");
  return run_observed(ctx, topts, nullptr, nullptr, nullptr,
                      [&](session::Observer& view) { return session::recv_from_fd(0, "stdin", spec, t, view, ctx.cancel); });
}

// Names are checked before the slot guard connects or ssh resolves the host.
Status check_recv_names(const std::string& from, const std::string& target, const std::string& send_cmd) {
  if (!objstore::is_object_url(from)) {  // an object URL is parsed, with its own messages, by objstore
    auto endpoint = parse_endpoint(from);
    if (!endpoint) return endpoint.status();
    if (!endpoint->stdio && send_cmd.empty()) PGM_RETURN_IF_ERROR(zfs::validate_snapshot(endpoint->name));
  }
  if (target.empty()) return Status::Ok();
  return target.find('@') == std::string::npos ? zfs::validate_dataset(target) : zfs::validate_snapshot(target);
}

}  // namespace

void register_recv(CLI::App& app, CommandFn& selected) {
  auto args = std::make_shared<RecvArgs>();
  CLI::App* cmd = app.add_subcommand("recv", "Receive a snapshot: from stdin ('-') or pull from [user@]host:POOL/FS@SNAP over SSH");
  cmd->alias("receive");
  // Counted by the command itself, so that a wrong count is said in words (usage.h).
  cmd->add_option(
      "SOURCE_TARGET", args->positional,
      "SOURCE TARGET (SOURCE is '-', [user@]host:POOL/FS@SNAP, or s3://bucket/prefix, gs://bucket/prefix); with --recv-cmd only SOURCE");
  cmd->add_flag("-F", args->force, "Roll back / overwrite the target (zfs receive -F); never implied");
  cmd->add_option("--recv-cmd", args->recv_cmd, "Shell command that consumes the stream on its stdin (replaces zfs receive)");
  cmd->add_option("-i", args->incremental,
                  "Far side: incremental from this snapshot (@snap or POOL/FS@snap) or, on OpenZFS, bookmark (#bm or POOL/FS#bm)");
  cmd->add_option("-I", args->intermediate, "Far side: incremental with all intermediate snapshots");
  cmd->add_flag("-R", args->replicate, "Far side: replication stream (zfs send -R)");
  cmd->add_flag("-p", args->props, "Far side: include properties (zfs send -p)");
  cmd->add_option("--send-cmd", args->send_cmd, "Far side: shell command whose stdout is the stream (replaces zfs send)");
  add_zfs_options(*cmd, args->zfs_flags, true);
  add_transfer_options(*cmd, args->transfer);
  add_remote_options(*cmd, args->remote);
  add_guard_options(*cmd, args->guard);
  add_object_options(*cmd, args->objects, true);
  cmd->callback([args, &selected] {
    selected = [args](RunContext& ctx) -> Status {
      sink::SinkSpec spec;
      std::string from;
      const std::size_t want = args->recv_cmd.empty() ? 2 : 1;
      if (args->positional.size() != want)
        return word_count_error("recv", want == 2 ? "a source and a target" : "a source (the stream goes to --recv-cmd)", args->positional,
                                ctx.args);
      from = args->positional[0];
      if (want == 2) spec.target = args->positional[1];
      PGM_RETURN_IF_ERROR(check_recv_names(from, spec.target, args->send_cmd));
      spec.recv_cmd = args->recv_cmd;
      spec.flags.force = args->force;
      source::SourceSpec far;
      PGM_RETURN_IF_ERROR(apply_zfs_options(args->zfs_flags, !args->send_cmd.empty(), !args->recv_cmd.empty(), far.flags, spec.flags));
      auto wrapper = local_privilege_wrapper(args->remote);
      if (!wrapper) return wrapper.status();
      spec.privilege_wrapper = *wrapper;
      auto t = resolve(args->transfer);
      if (!t) return t.status();
      // Held for the whole transfer; a trip cancels it with the guard's reason.
      auto guard = start_guard(args->guard, ctx.cancel);
      if (!guard) return guard.status();
      if (objstore::is_object_url(from)) {
        if (spec.recv_cmd.empty())
          PGM_RETURN_IF_ERROR(spec.target.find('@') == std::string::npos ? zfs::validate_dataset(spec.target)
                                                                         : zfs::validate_snapshot(spec.target));
        return recv_from_objects(ctx, from, spec, *t, args->transfer, args->objects);
      }
      auto endpoint = parse_endpoint(from);
      if (!endpoint) return endpoint.status();
      if (endpoint->stdio) {
        if (far.flags.raw || far.flags.compressed || far.flags.large_blocks || far.flags.embedded)
          return Status(Errc::invalid_argument, "-w/-c/-L/-e belong on 'pgmigrate send ... -' when the stream comes from stdin");
        return recv_from_stdin(ctx, spec, *t, args->transfer);
      }
      auto remote = make_remote(args->remote, *endpoint);
      if (!remote) return remote.status();
      far.send_cmd = args->send_cmd;
      if (far.send_cmd.empty()) far.snapshot = endpoint->name;
      if (!args->incremental.empty()) far.flags.incremental = args->incremental;
      if (!args->intermediate.empty()) far.flags.intermediate = args->intermediate;
      far.flags.replicate = args->replicate;
      far.flags.props = args->props;
      return pull_from_remote(ctx, far, spec, *t, args->transfer, *remote);
    };
  });
}

}  // namespace pgm::cli
