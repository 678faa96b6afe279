#include "journal/describe.h"

#include <fmt/printf.h>

#include "common/units.h"

namespace pgm::journal {
namespace {

std::string rate_of(const Record& r) {
  std::string s = format_rate(r.rate);
  if (r.rate_limit != 0) s += " (cap " + format_rate(static_cast<double>(r.rate_limit)) + ")";
  return s;
}

std::string position(const Record& r) {
  std::string p = format_bytes(static_cast<double>(r.bytes));
  if (r.estimate > 0) p += " of " + format_bytes(static_cast<double>(r.estimate));
  return p + " (" + std::to_string(r.chunks) + " chunks)";
}

std::string row(const std::string& session, const std::string& role, const std::string& state, const std::string& target,
                const std::string& position, const std::string& rate, const std::string& age) {
  return fmt::sprintf("%-32s  %-7s  %-8s  %-28s  %-26s  %-11s  %s", session, role, state, target, position, rate, age);
}

}  // namespace

std::string listed_state(const Listed& l) {
  if (!l.alive && l.record.state != "done") return "stale";
  return l.record.state;
}

nlohmann::json transfers_json(const std::vector<Listed>& all, double now) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& l : all) {
    auto j = nlohmann::json::parse(format_record(l.record));
    j["alive"] = l.alive;
    j["status"] = listed_state(l);
    j["age_seconds"] = now - l.record.started;
    out.push_back(j);
  }
  return out;
}

std::vector<std::string> transfers_lines(const std::vector<Listed>& all, double now, const std::string& dir) {
  if (all.empty()) return {"no transfers in progress (state directory " + dir + ")"};
  std::vector<std::string> out{row("SESSION", "ROLE", "STATE", "TARGET", "POSITION", "RATE", "AGE")};
  for (const auto& l : all) {
    const auto& r = l.record;
    out.push_back(row(r.session, r.role, listed_state(l), r.target, position(r), rate_of(r), format_duration(now - r.started)));
    if (!r.note.empty()) out.push_back("    " + r.note);
    if (!l.alive)
      out.push_back("    its process (pid " + std::to_string(r.pid) + ") is gone; 'pgmigrate abort " + r.session + "' cleans up");
  }
  return out;
}

}  // namespace pgm::journal
