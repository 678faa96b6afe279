// `pgmigrate recv SOURCE TARGET`: read a stream from stdin ("-") or pull it from a remote
// pgmigrate over SSH, verify every chunk, and feed `zfs receive` in order.
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

struct RecvArgs {
  std::vector<std::string> positional;
  session::StreamSettings stream;
  session::TransferSettings transfer;
  session::RemoteSettings remote;
  pg::SlotGuardSettings guard;
  objstore::ObjectSettings objects;
};

// A receive's target: a dataset, or a snapshot to receive as.
Status check_target(const std::string& target) {
  return target.find('@') == std::string::npos ? zfs::validate_dataset(target) : zfs::validate_snapshot(target);
}

// Names are checked before the slot guard connects or ssh resolves the host.
Status check_recv_names(const std::string& from, const std::string& target, const std::string& send_cmd) {
  if (!objstore::is_object_url(from)) {  // an object URL is parsed, with its own messages, by objstore
    PGM_ASSIGN_OR_RETURN(auto endpoint, session::parse_endpoint(from));
    if (!endpoint.stdio && send_cmd.empty()) PGM_RETURN_IF_ERROR(zfs::validate_snapshot(endpoint.name));
  }
  return target.empty() ? Status::Ok() : check_target(target);
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
  add_stream_options(*cmd, args->stream, true);
  add_transfer_options(*cmd, args->transfer);
  add_remote_options(*cmd, args->remote);
  add_guard_options(*cmd, args->guard);
  add_object_options(*cmd, args->objects, true);
  on_run(cmd, selected, [args](RunContext& ctx) -> Status {
    const session::StreamSettings& st = args->stream;
    sink::SinkSpec spec;
    const std::size_t want = st.recv_cmd.empty() ? 2 : 1;
    if (args->positional.size() != want)
      return word_count_error("recv", want == 2 ? "a source and a target" : "a source (the stream goes to --recv-cmd)", args->positional,
                              ctx.args);
    const std::string from = args->positional[0];
    if (want == 2) spec.target = args->positional[1];
    PGM_RETURN_IF_ERROR(check_recv_names(from, spec.target, st.send_cmd));
    source::SourceSpec far;
    PGM_RETURN_IF_ERROR(session::resolve_stream(st, far, spec));
    PGM_ASSIGN_OR_RETURN(auto wrapper, session::local_privilege_wrapper(args->remote));
    spec.privilege_wrapper = wrapper;
    PGM_ASSIGN_OR_RETURN(auto t, session::resolve_transfer(args->transfer));
    // Held for the whole transfer; a trip cancels it with the guard's reason.
    PGM_ASSIGN_OR_RETURN(auto guard, start_guard(args->guard, ctx.cancel));
    if (objstore::is_object_url(from)) {
      if (spec.recv_cmd.empty()) PGM_RETURN_IF_ERROR(check_target(spec.target));
      return recv_from_objects(ctx, from, spec, t, args->transfer, args->objects);
    }
    PGM_ASSIGN_OR_RETURN(auto endpoint, session::parse_endpoint(from));
    if (endpoint.stdio) {
      if (st.zfs.any_stream_flag())
        return Status(Errc::invalid_argument, "-w/-c/-L/-e belong on 'pgmigrate send ... -' when the stream comes from stdin");
      if (::isatty(0))
        return Status(Errc::invalid_argument, "refusing to read a stream from a terminal: pipe 'pgmigrate send ... -' into it");
      return run_observed(ctx, args->transfer, {},
                          [&](session::Observer& view) { return session::recv_from_fd(0, "stdin", spec, t, view, ctx.cancel); });
    }
    PGM_ASSIGN_OR_RETURN(auto remote, session::resolve_remote(args->remote, endpoint));
    if (far.send_cmd.empty()) far.snapshot = endpoint.name;
    return run_observed(ctx, args->transfer, {},
                        [&](session::Observer& view) { return session::pull(far, spec, t, remote, view, ctx.cancel); });
  });
}

}  // namespace pgm::cli
