#include "pg/slot_admin.h"

#include "pg/connection.h"

namespace pgm::pg {

Result<SlotOnPrimary> create_migration_slot(const SlotSpec& spec) {
  auto c = Connection::connect(spec.primary_conninfo, "primary");
  if (!c) return c.status();
  auto s = create_slot(*c, spec.slot);
  if (!s) return s.status();
  return SlotOnPrimary{c->label(), std::move(*s)};
}

Result<SlotStatus> migration_slot_status(const SlotSpec& spec) {
  auto c = Connection::connect(spec.primary_conninfo, "primary");
  if (!c) return c.status();
  return slot_status(*c, spec.slot);
}

Result<std::string> drop_migration_slot(const SlotSpec& spec) {
  auto c = Connection::connect(spec.primary_conninfo, "primary");
  if (!c) return c.status();
  PGM_RETURN_IF_ERROR(drop_slot(*c, spec.slot));
  return c->label();
}

Status watch_slot(const SlotWatchSpec& spec, CancelToken& cancel, SlotGuard::Observer observer) {
  SlotGuard guard(spec.guard, cancel, std::move(observer));
  PGM_RETURN_IF_ERROR(guard.start());
  // Until the duration has passed or the run is cancelled (a signal, or the guard tripping).
  if (spec.duration) {
    (void)cancel.wait_for(*spec.duration);
  } else {
    while (cancel.wait_for(std::chrono::hours(1))) {
    }
  }
  guard.stop();
  if (!guard.tripped().ok()) return guard.tripped();
  if (cancel.cancelled()) return cancel.reason();
  return Status::Ok();
}

}  // namespace pgm::pg
