// The source dataset tree's part of the migrate steps, internal to src/migrate/: a cluster whose
// pg_wal and tablespaces are on child datasets of --source moves as one tree. Every snapshot is
// one `zfs snapshot -r` (atomic), held on each dataset; each send is one verified transfer per
// dataset into the same place under the target; the standby's links are pointed into the
// received tree (pg standby --relink).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "migrate/run_steps.h"

namespace pgm::migrate {

// DATASET@NAME.
std::string snapshot_of(const std::string& dataset, const std::string& name);
// The snapshot name (after '@') of `snapshot`, "" when it names none.
std::string short_name(const std::string& snapshot);
// The source tree (`source` and its descendants, parents first) into p.datasets, and its sizes,
// summed over the tree, into p.referenced, p.logical and p.logical_basis.
Status read_source_tree(const zfs::Zfs& zfs, const std::string& source, Preflight& p);
// Creates snapshot `name` of the tree unless it exists, and holds it on every dataset of it.
Status ensure_held_snapshot(const zfs::Zfs& zfs, StateFile& m, const std::string& source, const std::vector<std::string>& tree,
                            const std::string& name);
// Sends snapshot `name` (incremental from snapshot `base` when not empty) of every dataset of
// `tree` to the target; `bytes_out` (when given) receives the logical bytes sent. `via`: the
// object-storage URL of a --bulk-via bulk step, "" over SSH.
Status send_step(Context& c, StateFile& m, const std::vector<std::string>& tree, const std::string& step, const std::string& name,
                 const std::string& base, std::uint64_t* bytes_out, const std::string& via = "");
// Mounts the target tree afresh when any of it is not mounted (parents first).
Status mount_target_tree(Context& c);
// The far `pg standby`'s " --relink FROM=TO" arguments, one per dataset of the tree.
Result<std::string> relink_args(Context& c, const std::vector<std::string>& tree, const std::string& target_mountpoint);

}  // namespace pgm::migrate
