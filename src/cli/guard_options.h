// --primary and friends on send/recv: guard the replication slot while the transfer runs, so
// a slow or stuck copy cannot fill the primary's disk with retained WAL.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include "common/cancel.h"
#include "pg/slot.h"
#include "pgmigrate/status.h"

namespace pgm::cli {

struct GuardCliOptions {
  std::string primary;
  std::string slot = pg::kDefaultSlot;
  std::string wal_warn, wal_limit;
  bool drop_on_limit = false;
  std::string interval = "5s";
};

void add_guard_options(CLI::App& cmd, GuardCliOptions& opts);
// Starts the guard when --primary was given (nullptr otherwise). A trip cancels `cancel` with
// a reason that says what happened and what to do, which ends the transfer.
Result<std::unique_ptr<pg::SlotGuard>> start_guard(const GuardCliOptions& opts, CancelToken& cancel);

}  // namespace pgm::cli
