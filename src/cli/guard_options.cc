#include "cli/guard_options.h"

#include <spdlog/spdlog.h>

#include "common/units.h"

namespace pgm::cli {

void add_guard_options(CLI::App& cmd, GuardCliOptions& o) {
  const char* group = "Replication slot guard";
  cmd.add_option("--primary", o.primary, "Watch this primary's replication slot during the transfer (conninfo)")->group(group);
  cmd.add_option("--slot", o.slot, "The slot to watch")->capture_default_str()->group(group);
  cmd.add_option("--wal-warn", o.wal_warn, "Warn once the slot retains this much WAL")->group(group);
  cmd.add_option("--wal-limit", o.wal_limit, "Stop the transfer when the slot retains this much WAL")->group(group);
  cmd.add_flag("--drop-slot-on-limit", o.drop_on_limit, "At the limit, also drop the slot to protect the primary")->group(group);
  cmd.add_option("--guard-interval", o.interval, "Time between slot samples")->capture_default_str()->group(group);
}

Result<std::unique_ptr<pg::SlotGuard>> start_guard(const GuardCliOptions& o, CancelToken& cancel) {
  if (o.primary.empty()) {
    if (!o.wal_warn.empty() || !o.wal_limit.empty() || o.drop_on_limit)
      return Status(Errc::invalid_argument, "--wal-warn, --wal-limit and --drop-slot-on-limit need --primary");
    return std::unique_ptr<pg::SlotGuard>();
  }
  pg::GuardOptions g;
  g.primary_conninfo = o.primary;
  g.slot = o.slot;
  g.drop_on_limit = o.drop_on_limit;
  if (!o.wal_warn.empty()) {
    auto v = parse_size(o.wal_warn);
    if (!v) return v.status().context("--wal-warn");
    g.warn_bytes = *v;
  }
  if (!o.wal_limit.empty()) {
    auto v = parse_size(o.wal_limit);
    if (!v) return v.status().context("--wal-limit");
    g.limit_bytes = *v;
  }
  auto interval = parse_duration(o.interval);
  if (!interval) return interval.status().context("--guard-interval");
  if (interval->count() < 100) return Status(Errc::invalid_argument, "--guard-interval must be at least 100ms");
  g.interval = *interval;
  auto guard = std::make_unique<pg::SlotGuard>(g, cancel, [](pg::GuardEvent ev, const pg::SlotStatus&, const std::string& msg) {
    if (ev == pg::GuardEvent::warn) spdlog::warn("{}", msg);
    if (ev == pg::GuardEvent::unreachable) spdlog::warn("slot guard: {} (retrying)", msg);
  });
  PGM_RETURN_IF_ERROR(guard->start());
  return guard;
}

}  // namespace pgm::cli
