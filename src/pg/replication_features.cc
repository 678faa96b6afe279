#include "pg/replication_features.h"

#include <algorithm>
#include <cctype>

#include "common/text.h"

namespace pgm::pg {
namespace {

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Splits a standby list at commas outside double quotes.
std::vector<std::string> split_names(std::string_view list) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (char ch : list) {
    if (ch == '"') quoted = !quoted;
    if (ch == ',' && !quoted) {
      out.push_back(std::string(trim(cur)));
      cur.clear();
    } else {
      cur.push_back(ch);
    }
  }
  out.push_back(std::string(trim(cur)));
  return out;
}

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

}  // namespace

bool sync_names_select(std::string_view setting, std::string_view name) {
  const std::string trimmed = trim(setting);
  const std::string_view s = trimmed;
  if (s.empty()) return false;
  // "[FIRST|ANY] N (list)": the list is what the parentheses hold (a '(' inside quotes is a name's).
  std::string_view list = s;
  bool quoted = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '"') quoted = !quoted;
    if (s[i] == '(' && !quoted) {
      const std::size_t close = s.rfind(')');
      list = s.substr(i + 1, close == std::string_view::npos || close < i ? std::string_view::npos : close - i - 1);
      break;
    }
  }
  for (const std::string& item : split_names(list)) {
    if (item == "*") return true;
    if (item.size() >= 2 && item.front() == '"' && item.back() == '"') {
      std::string unq;
      for (std::size_t i = 1; i + 1 < item.size(); ++i) {
        unq.push_back(item[i]);
        if (item[i] == '"' && item[i + 1] == '"') ++i;  // "" is one quote
      }
      if (unq == name) return true;
    } else if (iequal(item, name)) {
      return true;
    }
  }
  return false;
}

Result<ReplicationFeatures> inspect_replication(Connection& primary) {
  ReplicationFeatures f;
  const std::string failover = primary.server_major() >= 17 ? "s.failover" : "false";
  auto slots = primary.exec(
      "SELECT s.slot_name, coalesce(s.plugin, ''), coalesce(s.database, ''), s.active, "
      "coalesce(r.application_name || '@' || coalesce(host(r.client_addr), 'local'), ''), " +
      failover +
      " FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid "
      "WHERE s.slot_type = 'logical' ORDER BY 1");
  if (!slots) return slots.status();
  for (std::size_t i = 0; i < slots->rows(); ++i) {
    LogicalSlot l;
    l.name = slots->get(i, 0).value_or("");
    l.plugin = slots->get(i, 1).value_or("");
    l.database = slots->get(i, 2).value_or("");
    l.active = slots->get(i, 3).value_or("f") == "t";
    l.consumer = slots->get(i, 4).value_or("");
    l.failover = slots->get(i, 5).value_or("f") == "t";
    f.logical_slots.push_back(std::move(l));
  }
  auto names = primary.scalar("SHOW synchronous_standby_names");
  if (!names) return names.status();
  f.synchronous_standby_names = *names;
  auto sync = primary.exec(
      "SELECT application_name, coalesce(host(client_addr), ''), sync_state FROM pg_stat_replication "
      "WHERE sync_state IN ('sync', 'quorum', 'potential') ORDER BY 1");
  if (!sync) return sync.status();
  for (std::size_t i = 0; i < sync->rows(); ++i)
    f.sync_standbys.push_back({sync->get(i, 0).value_or(""), sync->get(i, 1).value_or(""), sync->get(i, 2).value_or("")});
  auto mode = primary.scalar("SHOW archive_mode");
  if (!mode) return mode.status();
  f.archive_mode = *mode;
  auto cmd = primary.scalar("SHOW archive_command");
  if (!cmd) return cmd.status();
  f.archive_command = *cmd;
  return f;
}

std::vector<std::string> describe_replication(const ReplicationFeatures& f, const std::string& standby_name) {
  std::vector<std::string> out;
  for (const auto& l : f.logical_slots)
    out.push_back("logical slot '" + l.name + "' (" + l.plugin + ", database " + l.database + ", " +
                  (l.consumer.empty() ? std::string("no consumer connected") : "consumer " + l.consumer) +
                  "): it stays on the old primary; after the switchover recreate it on the new one and resynchronize its consumer" +
                  (l.failover ? " (it is a failover slot, but the new standby does not sync slots)" : ""));
  if (!f.synchronous_standby_names.empty()) {
    std::vector<std::string> names;
    for (const auto& s : f.sync_standbys) names.push_back(s.name + (s.addr.empty() ? "" : "@" + s.addr) + " (" + s.state + ")");
    out.push_back("synchronous replication: synchronous_standby_names = '" + f.synchronous_standby_names + "'" +
                  (names.empty() ? std::string("; no synchronous standby connected") : "; standbys " + joined(names)) +
                  ". The new standby (application_name " + standby_name + ") " +
                  (sync_names_select(f.synchronous_standby_names, standby_name)
                       ? "IS selected by it: while it catches up the primary's commits may wait for it"
                       : "is not selected by it, so the primary's commits never wait for it") +
                  "; the new primary starts with synchronous_standby_names empty (the old sync standbys still follow the "
                  "stopped old primary): repoint them, then set it on the new primary");
  }
  if (f.archive_mode != "off")
    out.push_back("WAL archiving (archive_mode=" + f.archive_mode + ", archive_command '" + f.archive_command +
                  "'): the new primary keeps this configuration and archives from its promotion on (its new timeline); make sure "
                  "the command works on the target host and that the old primary's last segments were archived");
  return out;
}

std::string logical_slots_refusal(const ReplicationFeatures& f, bool accept_loss, const std::string& accept_setting) {
  if (f.logical_slots.empty() || accept_loss) return "";
  std::vector<std::string> names;
  for (const auto& l : f.logical_slots) names.push_back(l.name + (l.consumer.empty() ? "" : " (used by " + l.consumer + ")"));
  return "the primary has logical replication slots that a switchover leaves behind: " + joined(names) +
         "; their consumers would silently stop receiving changes. Plan to recreate them on the new primary, then pass " + accept_setting +
         " (or drop them first)";
}

}  // namespace pgm::pg
