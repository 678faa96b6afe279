// migrate's target host for `migrate run|plan|...`: migrate/ssh_remote.h over the SSH session
// the flags describe, its increments sent by push_to_remote (progress, metrics file, summary).
#pragma once

#include <memory>

#include "cli/command.h"
#include "cli/object_transfer.h"
#include "cli/remote_transfer.h"
#include "cli/transfer_options.h"
#include "migrate/remote.h"

namespace pgm::cli {

// `remote`, `transfer` and `topts` as make_remote / resolve made them from the flags.
// `objects`: how --bulk-via reaches object storage (the --s3-* flags). `privilege_wrapper`: how
// each send's zfs runs here when pgmigrate is not root (migrate::Spec::privilege_wrapper).
std::unique_ptr<migrate::Remote> make_migrate_remote(RunContext& ctx, RemoteOptions remote, ResolvedTransfer transfer,
                                                     TransferOptions topts, const objstore::ObjectSettings& objects,
                                                     const std::string& privilege_wrapper);

}  // namespace pgm::cli
