#include "migrate/describe.h"

#include <fmt/printf.h>

#include "common/units.h"
#include "pg/conninfo.h"

namespace pgm::migrate {
namespace {

using nlohmann::json;

std::string size_of(std::uint64_t n) { return format_bytes(static_cast<double>(n)); }

std::string step_line(std::string_view name, const StepRecord& s) {
  std::string line = "  " + std::string(name) + ": " + s.status.value_or("") + ", " + format_duration(s.seconds.value_or(0.0));
  if (s.bytes) line += ", " + size_of(*s.bytes) + " sent";
  if (s.detail) line += " (" + *s.detail + ")";
  return line;
}

// Where the data directory lies: on one dataset, or on a tree snapshotted together.
std::string data_directory_line(const Preflight& p, const Spec& spec) {
  if (p.datasets.size() <= 1)
    return fmt::sprintf("  data directory %s (Postgres %d), all of it on %s", p.data_directory, p.pg_major, spec.source);
  std::string tree;
  for (const auto& fs : p.datasets) tree += (tree.empty() ? "" : ", ") + fs;
  return fmt::sprintf("  data directory %s (Postgres %d), on the tree %s: snapshotted together (zfs snapshot -r), each dataset sent",
                      p.data_directory, p.pg_major, tree);
}

// Steps 1 to 4: up to the final increment, where the slot begins to retain WAL.
void plan_sends(std::vector<std::string>& out, const Preflight& p, const Spec& spec, const PlanWording& w) {
  // The stream carries the data before ZFS compression: time and space come from that.
  const double bulk_s = static_cast<double>(p.logical) / w.rate;
  out.emplace_back("  1. preflight: passed");
  out.push_back("  2. bulk: snapshot @pgmigrate-<id>-base, hold it, send " + size_of(p.logical) + " (~" + format_duration(bulk_s) + " at " +
                format_bytes(w.rate) + "/s); no slot, the primary is unaffected");
  out.push_back(
      fmt::sprintf("  3. rounds: up to %u incremental send(s), stopping once one moves less than %s", spec.rounds, w.delta_target));
  out.emplace_back(
      "  4. final: create slot, CHECKPOINT, snapshot @pgmigrate-<id>-final, send the increment (the slot retains WAL only from here)");
}

// Steps 5 to 8: the standby, catch-up, switchover and clean-up.
void plan_switch(std::vector<std::string>& out, const Preflight& p, const Spec& spec, const PlanWording& w) {
  out.push_back("  5. standby: prepare and start a streaming standby on " + w.host + ", port " + std::to_string(spec.standby_port));
  if (p.debian)
    for (auto& l : debian_plan_lines(*p.debian, w.host)) out.push_back(std::move(l));
  out.push_back("  6. catchup: wait until replay lag is under " + w.max_lag);
  out.push_back("  7. switchover: " + (w.switchover ? "pre-fence hook, fence " + w.fence + ", promote, post-hook"
                                                    : std::string("not requested (stops ready; rerun with --switchover)")));
  out.push_back(std::string("  8. cleanup: release holds, drop the slot where possible, ") + (spec.keep_snapshots ? "keep" : "destroy") +
                " the migration snapshots");
}

// One migration of `migrate status`, after its first line.
void status_detail(std::vector<std::string>& out, const StatusView& v) {
  const State& st = v.state;
  if (st.transfer) {
    const auto& t = *st.transfer;
    std::string line = "    sending " + t.snapshot + ": " + size_of(t.bytes);
    if (v.bulk_total) line += " of ~" + size_of(*v.bulk_total);
    if (v.eta_s) line += ", ETA " + format_duration(*v.eta_s);
    out.push_back(line + " at " + format_rate(t.rate));
  }
  if (st.slot_retained)
    out.push_back("    slot " + st.slot.value_or("") + " retains " + size_of(*st.slot_retained) + " (peak " +
                  size_of(st.peak_retained.value_or(0)) + ")");
  if (st.lag_bytes) out.push_back("    standby replay lag " + size_of(*st.lag_bytes));
  if (st.error) out.push_back("    last error: " + *st.error);
}

}  // namespace

std::string progress_line(std::string_view step, const std::string& text) {
  std::size_t n = 0;
  while (n < kStepNames.size() && kStepNames[n] != step) ++n;
  if (n == kStepNames.size()) return "migrate [" + std::string(step) + "] " + text;  // not a step: the slot guard
  return "migrate [" + std::to_string(n + 1) + "/" + std::to_string(kStepNames.size()) + " " + std::string(step) + "] " + text;
}

json progress_event(std::string_view step, const std::string& text) { return json{{"event", "step"}, {"step", step}, {"message", text}}; }

std::string run_started_text(const std::string& id, const Spec& spec, const std::string& state_path) {
  return "migration " + id + ": " + spec.source + " -> " + spec.target + " (state " + state_path + ")";
}

std::string stopped_line(const State& st) {
  return "migrate: stopped in step " + st.current_step.value_or("") +
         "; run the same command again to continue, or 'pgmigrate migrate abort " + st.id + "'";
}

std::string ready_line(const State& st, const Spec& spec) {
  const std::string slot = st.slot.value_or("");
  return "ready: the standby streams from the primary through slot '" + slot +
         "'. In the maintenance window run the same command with --switchover (or pgmigrate pg switchover --primary ... --standby '" +
         pg::redact_conninfo(spec.standby_conninfo) + "' --slot " + slot + ").";
}

std::vector<std::string> report_lines(const State& st) {
  std::vector<std::string> out{"migration " + st.id + " report"};
  for (const auto name : kStepNames) {
    auto it = st.steps.find(std::string(name));
    if (it != st.steps.end()) out.push_back(step_line(name, it->second));
  }
  out.push_back("  peak WAL retained by the slot: " + size_of(st.peak_retained.value_or(0)));
  if (st.write_window_s) out.push_back(fmt::sprintf("  write-unavailability window: %.3fs", *st.write_window_s));
  return out;
}

std::vector<std::string> plan_lines(const Preflight& p, const Spec& spec, const PlanWording& w) {
  std::vector<std::string> out;
  out.push_back("migration plan: " + spec.source + " -> " + spec.target + " (nothing has been changed)");
  out.push_back(data_directory_line(p, spec));
  out.push_back("  size: " + size_of(p.logical) + " logical (" + p.logical_basis + "), " + size_of(p.referenced) +
                " as stored on the source");
  out.push_back("  target: " + p.target.value("zfs", std::string()) + "; pool has " +
                size_of(p.target.value("pool_available", std::uint64_t{0})) + " available; needs up to " + size_of(p.logical) +
                " (less if the target compresses)");
  plan_sends(out, p, spec, w);
  plan_switch(out, p, spec, w);
  for (const auto& n : p.notes) out.push_back("  note: " + n);
  return out;
}

std::vector<std::string> debian_plan_lines(const DebianPlan& d, const std::string& host) {
  std::vector<std::string> out;
  out.push_back(
      fmt::sprintf("     as Debian cluster %s on %s (the primary is cluster %s): %s from its %zu configuration file(s), port %d, "
                   "data directory %s, started with pg_ctlcluster",
                   d.target.str(), host, d.source.str(), d.rendered.conf_dir, d.rendered.files.size(), d.rendered.port, d.target_pgdata));
  for (const auto& ch : d.rendered.changes) out.push_back("       " + ch);
  for (const auto& w : d.rendered.warnings) out.push_back("     warning: " + w);
  return out;
}

json status_json(const std::vector<StatusView>& views) {
  json out = json::array();
  for (const auto& v : views) {
    json j = v.state.to_json();
    j["alive"] = v.alive;
    out.push_back(j);
  }
  return out;
}

std::vector<std::string> status_lines(const std::vector<StatusView>& views, const std::string& state_dir) {
  if (views.empty()) return {"no migrations in " + migrations_dir(state_dir)};
  std::vector<std::string> out;
  for (const auto& v : views) {
    const State& st = v.state;
    out.push_back(st.id + "  " + st.source.value_or("") + " -> " + st.target.value_or("") + "  " + v.phase + ", step " +
                  st.current_step.value_or("-") + ", age " + format_duration(v.age_s));
    status_detail(out, v);
  }
  return out;
}

std::string far_log_header(const FarLog& log) {
  return "far half's log on " + log.host + ": " + log.path + " (" + size_of(log.size) + "; its last " + size_of(log.text.size()) +
         " shown, older lines in " + log.path + ".1)";
}

}  // namespace pgm::migrate
