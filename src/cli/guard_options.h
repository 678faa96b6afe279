// --primary and friends on send/recv: guard the replication slot while the transfer runs, so
// a slow or stuck copy cannot fill the primary's disk with retained WAL. The settings and their
// reading are pg's (pg/settings.h); here are the flags and the guard's log lines.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>

#include "common/cancel.h"
#include "pg/settings.h"
#include "pg/slot.h"
#include "pgmigrate/status.h"

namespace pgm::cli {

void add_guard_options(CLI::App& cmd, pg::SlotGuardSettings& opts);
// Starts the guard when --primary was given (nullptr otherwise). A trip cancels `cancel` with
// a reason that says what happened and what to do, which ends the transfer.
Result<std::unique_ptr<pg::SlotGuard>> start_guard(const pg::SlotGuardSettings& opts, CancelToken& cancel);

}  // namespace pgm::cli
