// `migrate watch`: the slot guard between runs. A migration "stops ready, days if need be" with
// its slot on the primary and no run to watch it; if the new standby goes down meanwhile, the
// slot retains WAL until the primary's disk is full. This watches it from the state alone, so a
// systemd unit can run it for the whole migration (docs/runbook.md).
#include <memory>

#include "common/units.h"
#include "pgmigrate/migrate.h"

namespace pgm::migrate {

namespace {

// The migration's state now; no value once it is gone (aborted).
Result<std::optional<State>> find_state(const std::string& state_dir, const std::string& id) {
  auto all = list(state_dir);
  if (!all) return all.status();
  for (auto& m : *all)
    if (m.id() == id) return std::optional<State>(m.snapshot());
  return std::optional<State>();
}

// Why there is nothing left to guard, or "".
std::string finished(const std::optional<State>& st) {
  if (!st) return "the migration is gone (aborted)";
  if (st->switched.value_or(false)) return "the migration has switched over: the slot is no longer needed";
  if (st->state.value_or("") == "done") return "the migration is done";
  return "";
}

}  // namespace

Status watch(const std::string& state_dir, const std::string& id, pg::GuardOptions g, CancelToken& cancel,
             const std::function<void(const std::string&)>& say) {
  auto first = find_state(state_dir, id);
  if (!first) return first.status();
  if (!*first)
    return Status(Errc::not_found, "no migration '" + id + "' in " + migrations_dir(state_dir) + " (see pgmigrate migrate status)");
  std::unique_ptr<pg::SlotGuard> guard;
  bool waiting_said = false;
  for (;;) {
    auto st = find_state(state_dir, id);
    if (!st) return st.status();
    if (std::string why = finished(*st); !why.empty()) {
      say(why + "; nothing left to guard");
      return Status::Ok();
    }
    if (!guard && (*st)->slot_created.value_or(false)) {
      g.slot = (*st)->slot.value_or("");
      guard = std::make_unique<pg::SlotGuard>(g, cancel, [&say](pg::GuardEvent ev, const pg::SlotStatus&, const std::string& msg) {
        if (ev == pg::GuardEvent::warn) say("warning: " + msg);
        if (ev == pg::GuardEvent::unreachable) say("cannot sample the slot: " + msg + " (retrying)");
      });
      PGM_RETURN_IF_ERROR(guard->start());
      say("guarding slot '" + g.slot + "' of migration " + id +
          (g.warn_bytes > 0 ? ", warning at " + format_bytes(static_cast<double>(g.warn_bytes)) : "") +
          (g.limit_bytes > 0 ? ", tripping at " + format_bytes(static_cast<double>(g.limit_bytes)) : "") +
          (g.drop_on_limit ? " and dropping the slot" : ""));
    } else if (!guard && !waiting_said) {
      waiting_said = true;
      say("migration " + id + " has no slot yet; waiting for its final step to create it");
    }
    if (!cancel.wait_for(g.interval)) break;
  }
  if (guard) guard->stop();
  if (guard && !guard->tripped().ok()) {
    // A slot that disappeared because the migration finished (clean-up dropped it) is no trip.
    auto st = find_state(state_dir, id);
    if (guard->tripped().code() == Errc::not_found && st && !finished(*st).empty()) {
      say(finished(*st) + "; nothing left to guard");
      return Status::Ok();
    }
    return guard->tripped();
  }
  return cancel.reason();
}

}  // namespace pgm::migrate
