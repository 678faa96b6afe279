// `pgmigrate send SNAPSHOT DEST`: run the producer, chunk, compress, checksum, and send the
// stream to stdout ("-") or to a remote pgmigrate over SSH.
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
#include "source/source.h"
#include "zfs/zfs.h"

namespace pgm::cli {
namespace {

struct SendArgs {
  std::vector<std::string> positional;
  std::string incremental, intermediate;
  bool replicate = false, props = false;
  std::string send_cmd;
  TransferOptions transfer;
  RemoteCliOptions remote;
  GuardCliOptions guard;
  bool force = false;
  std::string recv_cmd;
  objstore::ObjectSettings objects;
  ZfsOptions zfs_flags;
};

Status send_to_stdout(RunContext& ctx, const source::SourceSpec& spec, const ResolvedTransfer& t, const TransferOptions& topts) {
  if (::isatty(1))
    return Status(Errc::invalid_argument, "refusing to write a binary stream to a terminal: pipe it into 'pgmigrate recv - ...'");
  return run_observed(ctx, topts, nullptr, nullptr, nullptr,
                      [&](session::Observer& view) { return session::send_to_fd(spec, 1, "stdout", t, view, ctx.cancel); });
}

// Names are checked before the slot guard connects or ssh resolves the host.
Status check_send_names(const std::string& snapshot, const std::string& dest, const std::string& recv_cmd) {
  if (!snapshot.empty()) PGM_RETURN_IF_ERROR(zfs::validate_snapshot(snapshot));
  if (objstore::is_object_url(dest)) return Status::Ok();  // parsed, with its own messages, by objstore
  auto endpoint = parse_endpoint(dest);
  if (!endpoint) return endpoint.status();
  if (endpoint->stdio || !recv_cmd.empty()) return Status::Ok();
  return endpoint->name.find('@') == std::string::npos ? zfs::validate_dataset(endpoint->name) : zfs::validate_snapshot(endpoint->name);
}

}  // namespace

void register_send(CLI::App& app, CommandFn& selected) {
  auto args = std::make_shared<SendArgs>();
  CLI::App* cmd = app.add_subcommand("send", "Send a snapshot: to stdout ('-') or to [user@]host:POOL/FS over SSH");
  // Counted by the command itself, so that a wrong count is said in words (usage.h).
  cmd->add_option(
      "SNAPSHOT_DEST", args->positional,
      "POOL/FS@SNAP DEST (DEST is '-', [user@]host:POOL/FS, or s3://bucket/prefix, gs://bucket/prefix); with --send-cmd only DEST");
  cmd->add_option("-i", args->incremental,
                  "Incremental from this snapshot (@snap or POOL/FS@snap) or, on OpenZFS, bookmark (#bm or POOL/FS#bm)");
  cmd->add_option("-I", args->intermediate, "Incremental with all intermediate snapshots");
  cmd->add_flag("-R", args->replicate, "Replication stream (zfs send -R)");
  cmd->add_flag("-p", args->props, "Include properties (zfs send -p)");
  cmd->add_option("--send-cmd", args->send_cmd, "Shell command whose stdout is the stream (replaces zfs send)");
  cmd->add_flag("-F", args->force, "Far side: roll back / overwrite the target (zfs receive -F)");
  cmd->add_option("--recv-cmd", args->recv_cmd, "Far side: shell command consuming the stream (replaces zfs receive)");
  add_zfs_options(*cmd, args->zfs_flags, false);
  add_transfer_options(*cmd, args->transfer);
  add_remote_options(*cmd, args->remote);
  add_guard_options(*cmd, args->guard);
  add_object_options(*cmd, args->objects, false);
  cmd->callback([args, &selected] {
    selected = [args](RunContext& ctx) -> Status {
      source::SourceSpec spec;
      std::string dest;
      const std::size_t want = args->send_cmd.empty() ? 2 : 1;
      if (args->positional.size() != want)
        return word_count_error("send", want == 2 ? "a snapshot and a destination" : "a destination (the stream comes from --send-cmd)",
                                args->positional, ctx.args);
      if (want == 2) spec.snapshot = args->positional[0];
      dest = args->positional.back();
      PGM_RETURN_IF_ERROR(check_send_names(spec.snapshot, dest, args->recv_cmd));
      spec.send_cmd = args->send_cmd;
      if (!args->incremental.empty()) spec.flags.incremental = args->incremental;
      if (!args->intermediate.empty()) spec.flags.intermediate = args->intermediate;
      spec.flags.replicate = args->replicate;
      spec.flags.props = args->props;
      sink::SinkSpec far;
      PGM_RETURN_IF_ERROR(apply_zfs_options(args->zfs_flags, !args->send_cmd.empty(), !args->recv_cmd.empty(), spec.flags, far.flags));
      auto wrapper = local_privilege_wrapper(args->remote);
      if (!wrapper) return wrapper.status();
      spec.privilege_wrapper = *wrapper;
      auto t = resolve(args->transfer);
      if (!t) return t.status();
      // Held for the whole transfer; a trip cancels it with the guard's reason.
      auto guard = start_guard(args->guard, ctx.cancel);
      if (!guard) return guard.status();
      if (objstore::is_object_url(dest)) return send_to_objects(ctx, spec, *t, args->transfer, dest, args->objects);
      auto endpoint = parse_endpoint(dest);
      if (!endpoint) return endpoint.status();
      if (endpoint->stdio) {
        if (far.flags.no_mount || !far.flags.set_props.empty() || !far.flags.exclude_props.empty())
          return Status(Errc::invalid_argument, "-u/--recv-set/--recv-exclude belong on 'pgmigrate recv -' when the stream goes to stdout");
        return send_to_stdout(ctx, spec, *t, args->transfer);
      }
      auto remote = make_remote(args->remote, *endpoint);
      if (!remote) return remote.status();
      far.target = endpoint->name;
      far.flags.force = args->force;
      far.recv_cmd = args->recv_cmd;
      return push_to_remote(ctx, spec, far, *t, args->transfer, *remote);
    };
  });
}

}  // namespace pgm::cli
