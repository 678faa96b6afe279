// `pg slot`'s work on the primary, over a connection string rather than an open connection:
// create, read or drop the migration's physical slot, or watch it with a SlotGuard until a
// duration passes, the run is cancelled or the guard trips. Printing stays with the caller.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "common/cancel.h"
#include "pg/slot.h"
#include "pgmigrate/status.h"

namespace pgm::pg {

struct SlotSpec {
  std::string primary_conninfo;
  std::string slot = kDefaultSlot;
};

// A slot as read on the primary, with the primary's label (Connection::label) for messages.
struct SlotOnPrimary {
  std::string primary;
  SlotStatus status;
};

// Connects as "primary" and runs create_slot / slot_status / drop_slot (slot.h) on it.
Result<SlotOnPrimary> create_migration_slot(const SlotSpec& spec);
Result<SlotStatus> migration_slot_status(const SlotSpec& spec);
// Returns the primary's label.
Result<std::string> drop_migration_slot(const SlotSpec& spec);

struct SlotWatchSpec {
  GuardOptions guard;
  std::optional<std::chrono::milliseconds> duration;  // nullopt: until cancelled
};

// Starts a SlotGuard that reports to `observer` and cancels `cancel` when it trips, waits for
// the duration or the cancellation, and stops it. Ok when the duration passed; the trip reason,
// else the cancellation's reason.
Status watch_slot(const SlotWatchSpec& spec, CancelToken& cancel, SlotGuard::Observer observer);

}  // namespace pgm::pg
