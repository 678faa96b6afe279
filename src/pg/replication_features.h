// What else replicates from the primary, and what a switchover does to it: logical slots (they
// stay behind on the old primary), synchronous standbys (they keep pointing at it) and WAL
// archiving (the new primary archives from its promotion on, with the configuration it copied).
// Read on the primary before anything changes, so that plan can say it and run can refuse what
// would be lost silently.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "pg/connection.h"
#include "pgmigrate/status.h"

namespace pgm::pg {

struct LogicalSlot {
  std::string name, plugin, database;
  bool active = false;
  std::string consumer;   // application_name@client_addr of the walsender using it, "" if none
  bool failover = false;  // PG 17+: synced to standbys that ask for it (sync_replication_slots)
};

struct SyncStandby {
  std::string name;   // application_name
  std::string addr;   // client_addr, "" for a local socket
  std::string state;  // sync, quorum or potential
};

struct ReplicationFeatures {
  std::vector<LogicalSlot> logical_slots;
  std::string synchronous_standby_names;  // "" when replication is asynchronous
  std::vector<SyncStandby> sync_standbys;
  std::string archive_mode;  // off, on, always
  std::string archive_command;
};

// Reads them on the primary (Postgres 12 to 18).
Result<ReplicationFeatures> inspect_replication(Connection& primary);

// Whether synchronous_standby_names `setting` can pick a standby whose application_name is
// `name`: '*', or the name listed (case-insensitively unless double-quoted), in any of the
// forms "a, b", "N (a, b)", "FIRST N (...)", "ANY N (...)". Pure.
bool sync_names_select(std::string_view setting, std::string_view name);

// One line per feature for plan and run's preflight; `standby_name` is the application_name
// the new standby will use.
std::vector<std::string> describe_replication(const ReplicationFeatures& f, const std::string& standby_name);

// The refusal to switch over while logical slots exist (they do not move to the new primary):
// names them and what to do. "" when there are none or `accept_loss`.
std::string logical_slots_refusal(const ReplicationFeatures& f, bool accept_loss, const std::string& accept_setting);

}  // namespace pgm::pg
