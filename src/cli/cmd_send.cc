// `pgmigrate send SNAPSHOT DEST`: run the producer, chunk, compress, checksum, and send the
// stream to stdout ("-") or to a remote pgmigrate over SSH.
#include <unistd.h>

#include "cli/command.h"
#include "cli/guard_options.h"
#include "cli/object_transfer.h"
#include "cli/options.h"
#include "cli/remote_transfer.h"
#include "cli/usage.h"
#include "pgmigrate/session.h"
#include "session/settings.h"
#include "zfs/zfs.h"

namespace pgm::cli {
namespace {

struct SendArgs {
  std::vector<std::string> positional;
  session::StreamSettings stream;
  session::TransferSettings transfer;
  session::RemoteSettings remote;
  pg::SlotGuardSettings guard;
  objstore::ObjectSettings objects;
};

// Names are checked before the slot guard connects or ssh resolves the host.
Status check_send_names(const std::string& snapshot, const std::string& dest, const std::string& recv_cmd) {
  if (!snapshot.empty()) PGM_RETURN_IF_ERROR(zfs::validate_snapshot(snapshot));
  if (objstore::is_object_url(dest)) return Status::Ok();  // parsed, with its own messages, by objstore
  PGM_ASSIGN_OR_RETURN(auto endpoint, session::parse_endpoint(dest));
  if (endpoint.stdio || !recv_cmd.empty()) return Status::Ok();
  return endpoint.name.find('@') == std::string::npos ? zfs::validate_dataset(endpoint.name) : zfs::validate_snapshot(endpoint.name);
}

}  // namespace

void register_send(CLI::App& app, CommandFn& selected) {
  auto args = std::make_shared<SendArgs>();
  CLI::App* cmd = app.add_subcommand("send", "Send a snapshot: to stdout ('-') or to [user@]host:POOL/FS over SSH");
  // Counted by the command itself, so that a wrong count is said in words (usage.h).
  cmd->add_option(
      "SNAPSHOT_DEST", args->positional,
      "POOL/FS@SNAP DEST (DEST is '-', [user@]host:POOL/FS, or s3://bucket/prefix, gs://bucket/prefix); with --send-cmd only DEST");
  add_stream_options(*cmd, args->stream, false);
  add_transfer_options(*cmd, args->transfer);
  add_remote_options(*cmd, args->remote);
  add_guard_options(*cmd, args->guard);
  add_object_options(*cmd, args->objects, false);
  on_run(cmd, selected, [args](RunContext& ctx) -> Status {
    const session::StreamSettings& st = args->stream;
    source::SourceSpec spec;
    const std::size_t want = st.send_cmd.empty() ? 2 : 1;
    if (args->positional.size() != want)
      return word_count_error("send", want == 2 ? "a snapshot and a destination" : "a destination (the stream comes from --send-cmd)",
                              args->positional, ctx.args);
    if (want == 2) spec.snapshot = args->positional[0];
    const std::string dest = args->positional.back();
    PGM_RETURN_IF_ERROR(check_send_names(spec.snapshot, dest, st.recv_cmd));
    sink::SinkSpec far;
    PGM_RETURN_IF_ERROR(session::resolve_stream(st, spec, far));
    PGM_ASSIGN_OR_RETURN(auto wrapper, session::local_privilege_wrapper(args->remote));
    spec.privilege_wrapper = wrapper;
    PGM_ASSIGN_OR_RETURN(auto t, session::resolve_transfer(args->transfer));
    // Held for the whole transfer; a trip cancels it with the guard's reason.
    PGM_ASSIGN_OR_RETURN(auto guard, start_guard(args->guard, ctx.cancel));
    if (objstore::is_object_url(dest)) return send_to_objects(ctx, spec, t, args->transfer, dest, args->objects);
    PGM_ASSIGN_OR_RETURN(auto endpoint, session::parse_endpoint(dest));
    if (endpoint.stdio) {
      if (st.zfs.any_recv_flag())
        return Status(Errc::invalid_argument, "-u/--recv-set/--recv-exclude belong on 'pgmigrate recv -' when the stream goes to stdout");
      if (::isatty(1))
        return Status(Errc::invalid_argument, "refusing to write a binary stream to a terminal: pipe it into 'pgmigrate recv - ...'");
      return run_observed(ctx, args->transfer, {},
                          [&](session::Observer& view) { return session::send_to_fd(spec, 1, "stdout", t, view, ctx.cancel); });
    }
    PGM_ASSIGN_OR_RETURN(auto remote, session::resolve_remote(args->remote, endpoint));
    far.target = endpoint.name;
    return run_observed(ctx, args->transfer, {},
                        [&](session::Observer& view) { return session::push(spec, far, t, remote, view, ctx.cancel); });
  });
}

}  // namespace pgm::cli
