// Before the snapshot: does everything the server needs to recover lie inside the dataset(s)
// that will be snapshotted atomically? Runs on the primary's host (it resolves paths locally).
#pragma once

#include <string>
#include <vector>

#include "pg/connection.h"
#include "pgmigrate/status.h"

namespace pgm::pg {

struct MountedDataset {
  std::string name;        // POOL/FS
  std::string mountpoint;  // absolute path
};

struct LayoutItem {
  std::string what;     // "data directory", "pg_wal", "tablespace fast"
  std::string path;     // resolved (symlinks followed)
  std::string dataset;  // the dataset that holds it, "" if none
  bool inside = false;  // held by one of the datasets to be snapshotted
};

struct LayoutReport {
  std::vector<LayoutItem> items;
  std::vector<std::string> problems;  // refusals: the snapshot would not be consistent
  std::vector<std::string> notes;     // warnings: config files outside, settings to fix
  bool ok() const { return problems.empty(); }
};

// The dataset whose mountpoint is the longest prefix of `path` (path components, not chars).
const MountedDataset* dataset_for_path(const std::vector<MountedDataset>& datasets, const std::string& path);

// Pure part: judges resolved paths against the mounted datasets and the requested ones.
LayoutReport judge_layout(const std::vector<std::pair<std::string, std::string>>& what_and_path, const std::vector<MountedDataset>& mounted,
                          const std::vector<std::string>& requested);

// Lists mounted ZFS filesystems ("zfs list -H -o name,mountpoint -t filesystem"), through the
// privilege `wrapper` of a pgmigrate that is not root (common/elevation.h).
Result<std::vector<MountedDataset>> list_mounted_datasets(const std::string& wrapper = "");

// Asks the primary where its data directory, pg_wal and tablespaces are, resolves them here,
// and judges them. Also notes replication prerequisites (wal_level, max_wal_senders, slots).
// `wrapper`: as for list_mounted_datasets; inside a data directory closed to a normal user,
// PG_VERSION and pg_wal are looked at as its owner through it (server_tools.h).
Result<LayoutReport> check_layout(Connection& primary, const std::vector<std::string>& datasets, const std::string& wrapper = "");

// `pg check`'s request: the primary to ask and the datasets that will be snapshotted.
struct LayoutCheckSpec {
  std::string primary_conninfo;
  std::vector<std::string> datasets;
};

// Connects as "primary" and runs check_layout on it.
Result<LayoutReport> check_layout(const LayoutCheckSpec& spec);

// Ok for a report without problems; else the one-line refusal: the first problem and how many
// more there are (the caller lists them all).
Status layout_refusal(const LayoutReport& report);

}  // namespace pgm::pg
