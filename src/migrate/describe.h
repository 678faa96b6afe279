// What `pgmigrate migrate ...` shows of this folder's results, worded here beside the types so
// that the cli only prints: text lines (without their newline) and JSON. Pure; nothing prints.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "migrate/state.h"
#include "migrate/status_view.h"
#include "pgmigrate/migrate.h"

namespace pgm::migrate {

// A progress line of `migrate run`: "migrate [2/8 bulk] TEXT" for a step, "migrate [STEP] TEXT"
// for what is not one (the slot guard).
std::string progress_line(std::string_view step, const std::string& text);
// The same as one JSON event (--progress json).
nlohmann::json progress_event(std::string_view step, const std::string& text);

// `migrate run`'s first progress text: the migration, its source and target, its state file.
std::string run_started_text(const std::string& id, const Spec& spec, const std::string& state_path);
// `migrate run` stopped by an error: in which step, and how to continue or undo it.
std::string stopped_line(const State& st);
// `migrate run` ended ready (no switchover asked): the slot, and what to run in the maintenance
// window (the standby's conninfo without its password).
std::string ready_line(const State& st, const Spec& spec);

// `migrate run`'s closing report: "migration ID report", each step that ran with its status,
// time, bytes and detail, the slot's peak retention and the write-unavailability window.
std::vector<std::string> report_lines(const State& st);

// What `migrate plan` says beyond the Spec: the settings as the user wrote them (sizes such as
// "1G" are shown as given), the target host's label and the rate of the time estimates.
struct PlanWording {
  std::string host;  // Remote::host_label()
  double rate = 0;   // --assume-rate, bytes/s
  std::string delta_target, max_lag, fence;
  bool switchover = false;  // --switchover was given
};

// `migrate plan`: the source and target, sizes, then the eight steps with their estimates, and
// the preflight's notes.
std::vector<std::string> plan_lines(const Preflight& p, const Spec& spec, const PlanWording& w);

// The Debian cluster the standby step will create on `host` (plan's step 5).
std::vector<std::string> debian_plan_lines(const DebianPlan& d, const std::string& host);

// `migrate status --json`: one object per migration, its state and whether its runner lives.
nlohmann::json status_json(const std::vector<StatusView>& views);
// `migrate status`: per migration a line with its phase, step and age, then what it sends, the
// slot's retention, the standby's lag and the last error; "no migrations in DIR" when none.
std::vector<std::string> status_lines(const std::vector<StatusView>& views, const std::string& state_dir);

// `migrate far-log`'s header (on stderr): where the far log is, its size and how much is shown.
std::string far_log_header(const FarLog& log);

}  // namespace pgm::migrate
