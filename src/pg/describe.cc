#include "pg/describe.h"

#include <fmt/printf.h>

#include <algorithm>
#include <cstdint>

#include "common/units.h"
#include "pg/conninfo.h"

namespace pgm::pg {
namespace {

using nlohmann::json;

std::string bytes(std::uint64_t n) { return format_bytes(static_cast<double>(n)) + " (" + std::to_string(n) + " bytes)"; }

std::string size_of(std::uint64_t n) { return format_bytes(static_cast<double>(n)); }

std::string lsn_or_dash(const std::optional<Lsn>& l) { return l ? l->str() : "-"; }

json lsn_or_null(const std::optional<Lsn>& l) { return l ? json(l->str()) : json(nullptr); }

json secs_or_null(const std::optional<double>& s) { return s ? json(*s) : json(nullptr); }

std::string opt_secs(const std::optional<double>& s) { return s ? fmt::sprintf("%.3fs", *s) : "-"; }

std::string safe_wal_size(const SlotStatus& s) {
  if (s.safe_wal_size) return bytes(static_cast<std::uint64_t>(std::max<std::int64_t>(0, *s.safe_wal_size)));
  return s.wal_status.empty() ? "-" : "unlimited (max_slot_wal_keep_size = -1)";
}

}  // namespace

json slot_json(const SlotStatus& s) {
  json j;
  j["slot"] = s.name;
  j["type"] = s.slot_type;
  j["restart_lsn"] = lsn_or_null(s.restart_lsn);
  j["current_lsn"] = s.current_lsn.str();
  j["retained_bytes"] = s.retained_bytes;
  j["active"] = s.active;
  j["active_pid"] = s.active_pid ? json(*s.active_pid) : json(nullptr);
  j["wal_status"] = s.wal_status.empty() ? json(nullptr) : json(s.wal_status);
  j["safe_wal_size"] = s.safe_wal_size ? json(*s.safe_wal_size) : json(nullptr);
  return j;
}

std::vector<std::string> slot_lines(const SlotStatus& s) {
  return {
      "slot           " + s.name + " (" + s.slot_type + ")",
      "restart_lsn    " + lsn_or_dash(s.restart_lsn),
      "current_lsn    " + s.current_lsn.str(),
      "retained WAL   " + bytes(s.retained_bytes),
      "wal_status     " + (s.wal_status.empty() ? std::string("- (Postgres 12)") : s.wal_status),
      "safe_wal_size  " + safe_wal_size(s),
      "active         " + (s.active ? "yes, walsender pid " + std::to_string(s.active_pid.value_or(0)) : std::string("no")),
  };
}

std::string slot_created_line(const std::string& slot, const SlotOnPrimary& created) {
  return "created physical slot '" + slot + "' on " + created.primary + "; it retains WAL from " + lsn_or_dash(created.status.restart_lsn) +
         ": drop it if the migration is abandoned";
}

std::string slot_sample_line(const SlotStatus& s) {
  return "slot " + s.name + ": retained " + size_of(s.retained_bytes) + ", wal_status " + (s.wal_status.empty() ? "-" : s.wal_status) +
         ", " + (s.active ? "active" : "inactive");
}

json lag_json(const LagReport& r) {
  json j;
  j["primary_lsn"] = r.primary_lsn.str();
  j["receive_lsn"] = lsn_or_null(r.receive_lsn);
  j["replay_lsn"] = lsn_or_null(r.replay_lsn);
  j["receive_lag_bytes"] = r.receive_lsn ? json(r.receive_bytes()) : json(nullptr);
  j["replay_lag_bytes"] = r.replay_lsn ? json(r.replay_bytes()) : json(nullptr);
  j["walsender"] = r.walsender_found;
  j["state"] = r.state;
  j["sent_lag_bytes"] = r.sent_bytes();
  j["write_lag_bytes"] = r.write_bytes();
  j["flush_lag_bytes"] = r.flush_bytes();
  j["write_lag_s"] = secs_or_null(r.write_lag_s);
  j["flush_lag_s"] = secs_or_null(r.flush_lag_s);
  j["replay_lag_s"] = secs_or_null(r.replay_lag_s);
  return j;
}

std::vector<std::string> lag_lines(const LagReport& r) {
  std::vector<std::string> out;
  out.push_back("primary at " + r.primary_lsn.str() + "; standby received " + lsn_or_dash(r.receive_lsn) + " (" +
                (r.receive_lsn ? size_of(r.receive_bytes()) : "-") + " behind), replayed " + lsn_or_dash(r.replay_lsn) + " (" +
                (r.replay_lsn ? size_of(r.replay_bytes()) : "-") + " behind)");
  if (!r.walsender_found) {
    out.emplace_back("walsender: none on the primary for the slot (is the standby streaming through it?)");
    return out;
  }
  out.push_back("walsender " + r.state + ": sent " + size_of(r.sent_bytes()) + ", write " + size_of(r.write_bytes()) + ", flush " +
                size_of(r.flush_bytes()) + " behind; time lag write " + opt_secs(r.write_lag_s) + ", flush " + opt_secs(r.flush_lag_s) +
                ", replay " + opt_secs(r.replay_lag_s));
  return out;
}

std::vector<std::string> layout_lines(const LayoutReport& r) {
  std::vector<std::string> out;
  for (const auto& item : r.items)
    out.push_back(fmt::sprintf("%-4s %-22s %s (%s)", item.inside ? "ok" : "OUT", item.what, item.path,
                               item.dataset.empty() ? "no dataset" : item.dataset));
  for (const auto& n : r.notes) out.push_back("note: " + n);
  return out;
}

std::vector<std::string> layout_problem_lines(const LayoutReport& r) {
  std::vector<std::string> out;
  for (const auto& p : r.problems) out.push_back("problem: " + p);
  return out;
}

std::vector<std::string> standby_setup_lines(const StandbySetup& done, const std::string& primary, const std::string& slot) {
  std::vector<std::string> out;
  for (const auto& line : done.relinked) out.push_back("relinked " + line);
  if (done.debian) {
    const auto& d = *done.debian;
    out.push_back(std::string(d.written.replaced ? "replaced" : "created") + " Debian cluster " + d.target.id.str() + " in " +
                  d.written.conf_dir + " (port " + std::to_string(d.rendered.port) + ")");
    for (const auto& c : d.rendered.changes) out.push_back("  " + c);
    for (const auto& w : d.rendered.warnings) out.push_back("  warning: " + w);
  }
  std::string removed;
  for (const auto& r : done.prepared.removed) removed += (removed.empty() ? "" : ", ") + r;
  out.push_back("prepared " + done.dir.path + " as a standby of " + describe_conninfo(primary) + " through slot '" + slot + "'" +
                (removed.empty() ? "" : "; removed " + removed));
  return out;
}

std::string switchover_step_line(const SwitchoverStep& s) {
  return fmt::sprintf("%s  +%8.3fs  %-12s %s %s", format_timestamp(s.at), s.elapsed_s, s.name, s.ok ? "ok  " : "FAIL", s.detail);
}

std::vector<std::string> switchover_result_lines(const SwitchoverReport& r) {
  std::vector<std::string> out;
  for (const auto& n : r.notes) out.push_back("note: " + n);
  if (r.write_window_s)
    out.push_back(
        fmt::sprintf("write-unavailability window: %.3fs (%s)", *r.write_window_s,
                     r.promoted ? "fence to first write on the new primary" : "fence to the old primary writable again after rollback"));
  out.push_back(std::string("result: ") + (r.old_is_standby ? "promoted; the old primary follows it as a standby (fallback ready)"
                                           : r.promoted     ? "promoted"
                                           : r.rolled_back  ? "rolled back; old primary writable, standby not promoted"
                                           : r.fenced       ? "NOT promoted; fence NOT undone: see the error"
                                                            : "refused; nothing changed"));
  return out;
}

}  // namespace pgm::pg
