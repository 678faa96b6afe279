#include "cli/migrate_remote.h"

#include <utility>

#include "cli/progress.h"
#include "cli/remote_transfer.h"
#include "migrate/ssh_remote.h"
#include "session/objects.h"

namespace pgm::cli {

namespace {

// --bulk-via's side of the object store: this host's credentials, flags and upload progress.
migrate::ObjectRelay object_relay(RunContext& ctx, const session::TransferParams& transfer, const session::TransferSettings& topts,
                                  const objstore::ObjectSettings& objects, const std::string& privilege_wrapper) {
  migrate::ObjectRelay r;
  r.far_flags = session::far_object_flags(objects);
  r.probe_here = [objects](const std::string& url, CancelToken& cancel) { return session::probe_objects_here(objects, url, cancel); };
  r.upload = [&ctx, transfer, topts, objects, privilege_wrapper](const migrate::Push& p, const std::string& url,
                                                                 CancelToken& cancel) -> Result<std::uint64_t> {
    source::SourceSpec src;
    src.snapshot = p.snapshot;
    src.flags = p.send;
    src.privilege_wrapper = privilege_wrapper;
    ProgressView view(parse_progress_mode(topts.progress, ctx.global.quiet));
    PGM_ASSIGN_OR_RETURN(auto sent, session::upload_to_objects(src, transfer, url, objects, view, cancel));
    return sent.logical_bytes;
  };
  return r;
}

}  // namespace

std::unique_ptr<migrate::Remote> make_migrate_remote(RunContext& ctx, session::Remote remote, session::TransferParams transfer,
                                                     session::TransferSettings settings, const objstore::ObjectSettings& objects,
                                                     const std::string& privilege_wrapper, session::MetricsFile* metrics) {
  migrate::ObjectRelay relay = object_relay(ctx, transfer, settings, objects, privilege_wrapper);
  session::Remote far = remote;
  // The transfer runs on the command's own cancellation (ctx), which `cancel` is in migrate.
  auto push = [&ctx, remote = std::move(remote), transfer, settings = std::move(settings), privilege_wrapper, metrics](
                  const migrate::Push& p, std::atomic<std::uint64_t>& position, CancelToken& /*cancel*/) -> Result<std::uint64_t> {
    source::SourceSpec src;
    src.snapshot = p.snapshot;
    src.flags = p.send;
    src.privilege_wrapper = privilege_wrapper;
    if (!p.base.empty()) src.flags.incremental = p.base;
    sink::SinkSpec dst;
    dst.target = p.dataset;
    dst.flags = p.recv;
    session::TransferSummary sum;
    PGM_RETURN_IF_ERROR(run_observed(ctx, settings, {metrics, &position, &sum},
                                     [&](session::Observer& view) { return session::push(src, dst, transfer, remote, view, ctx.cancel); }));
    return sum.logical_bytes;
  };
  return migrate::ssh_remote(std::move(far), std::move(push), std::move(relay));
}

}  // namespace pgm::cli
