#include "cli/guard_options.h"

#include <spdlog/spdlog.h>

namespace pgm::cli {

void add_guard_options(CLI::App& cmd, pg::SlotGuardSettings& o) {
  const char* group = "Replication slot guard";
  cmd.add_option("--primary", o.primary, "Watch this primary's replication slot during the transfer (conninfo)")->group(group);
  cmd.add_option("--slot", o.slot, "The slot to watch")->capture_default_str()->group(group);
  cmd.add_option("--wal-warn", o.wal_warn, "Warn once the slot retains this much WAL")->group(group);
  cmd.add_option("--wal-limit", o.wal_limit, "Stop the transfer when the slot retains this much WAL")->group(group);
  cmd.add_flag("--drop-slot-on-limit", o.drop_on_limit, "At the limit, also drop the slot to protect the primary")->group(group);
  cmd.add_option("--guard-interval", o.interval, "Time between slot samples")->capture_default_str()->group(group);
}

Result<std::unique_ptr<pg::SlotGuard>> start_guard(const pg::SlotGuardSettings& o, CancelToken& cancel) {
  PGM_ASSIGN_OR_RETURN(auto g, pg::slot_guard_options(o));
  if (!g) return std::unique_ptr<pg::SlotGuard>();
  auto guard = std::make_unique<pg::SlotGuard>(*g, cancel, [](pg::GuardEvent ev, const pg::SlotStatus&, const std::string& msg) {
    if (ev == pg::GuardEvent::warn) spdlog::warn("{}", msg);
    if (ev == pg::GuardEvent::unreachable) spdlog::warn("slot guard: {} (retrying)", msg);
  });
  PGM_RETURN_IF_ERROR(guard->start());
  return guard;
}

}  // namespace pgm::cli
