#include "cli/migrate_remote.h"

#include <utility>

#include "migrate/ssh_remote.h"

namespace pgm::cli {

std::unique_ptr<migrate::Remote> make_migrate_remote(RunContext& ctx, RemoteOptions remote, ResolvedTransfer transfer,
                                                     TransferOptions topts) {
  session::Remote far = remote;
  // The transfer runs on the command's own cancellation (ctx), which `cancel` is in migrate.
  auto push = [&ctx, remote = std::move(remote), transfer, topts = std::move(topts)](
                  const migrate::Push& p, std::atomic<std::uint64_t>& position, CancelToken& /*cancel*/) -> Result<std::uint64_t> {
    source::SourceSpec src;
    src.snapshot = p.snapshot;
    src.flags = p.send;
    if (!p.base.empty()) src.flags.incremental = p.base;
    sink::SinkSpec dst;
    dst.target = p.dataset;
    dst.flags = p.recv;
    TransferSummary sum;
    RemoteOptions with_position = remote;
    with_position.position = &position;
    with_position.summary_out = &sum;
    PGM_RETURN_IF_ERROR(push_to_remote(ctx, src, dst, transfer, topts, with_position));
    return sum.logical_bytes;
  };
  return migrate::ssh_remote(std::move(far), std::move(push));
}

}  // namespace pgm::cli
