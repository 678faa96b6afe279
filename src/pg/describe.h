// What `pgmigrate pg ...` shows of this folder's results, worded here beside the types so that
// the cli only prints: text lines (without their newline) and JSON. Pure; nothing prints.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pg/lag.h"
#include "pg/layout_check.h"
#include "pg/slot.h"
#include "pg/slot_admin.h"
#include "pg/standby_setup.h"
#include "pg/switchover.h"

namespace pgm::pg {

// `pg slot create|status --json` and each `pg slot watch --json` sample: one object.
nlohmann::json slot_json(const SlotStatus& s);
// `pg slot status`: one "name   value" line per field.
std::vector<std::string> slot_lines(const SlotStatus& s);
// `pg slot create`'s first line: where the slot is and what it retains.
std::string slot_created_line(const std::string& slot, const SlotOnPrimary& created);
// One `pg slot watch` sample: "slot NAME: retained SIZE, wal_status X, active".
std::string slot_sample_line(const SlotStatus& s);

// `pg lag --json`.
nlohmann::json lag_json(const LagReport& r);
// `pg lag`: the standby's positions, then its walsender's lag (or that there is none).
std::vector<std::string> lag_lines(const LagReport& r);

// `pg check`: one line per path judged ("ok"/"OUT", what, path, dataset), then the notes.
std::vector<std::string> layout_lines(const LayoutReport& r);
// `pg check`'s refusals, one "problem: ..." line each.
std::vector<std::string> layout_problem_lines(const LayoutReport& r);

// What `pg standby` did: links changed, the Debian cluster written (with its changes and
// warnings), the directory prepared as a standby of `primary` through `slot`. migrate relays
// these lines from the target host.
std::vector<std::string> standby_setup_lines(const StandbySetup& done, const std::string& primary, const std::string& slot);

// One step of `pg switchover`'s timeline: time, elapsed, step, ok/FAIL, detail.
std::string switchover_step_line(const SwitchoverStep& s);
// After the timeline: the notes, the write-unavailability window and the result.
std::vector<std::string> switchover_result_lines(const SwitchoverReport& r);

}  // namespace pgm::pg
