// migrate's target host for `migrate run|plan|...`: migrate/ssh_remote.h over the SSH session
// the flags describe, each increment a session::push under run_observed (progress, metrics file, summary).
#pragma once

#include <memory>

#include "cli/command.h"
#include "cli/object_transfer.h"
#include "migrate/remote.h"
#include "pgmigrate/session.h"
#include "session/metrics_file.h"
#include "session/settings.h"

namespace pgm::cli {

// `remote` and `transfer` as migrate::resolve_run made them from `settings`. `objects`: how
// --bulk-via reaches object storage (the --s3-* flags). `privilege_wrapper`: how each send's zfs
// runs here when pgmigrate is not root (migrate::Spec::privilege_wrapper). `metrics`: the run's
// metrics file, which each transfer writes too (null: none).
std::unique_ptr<migrate::Remote> make_migrate_remote(RunContext& ctx, session::Remote remote, session::TransferParams transfer,
                                                     session::TransferSettings settings, const objstore::ObjectSettings& objects,
                                                     const std::string& privilege_wrapper, session::MetricsFile* metrics);

}  // namespace pgm::cli
