// A cluster spread over a tree of datasets (pg_wal and tablespaces on datasets of their own)
// holds absolute symbolic links: pg_wal -> /src/mount/wal, pg_tblspc/<oid> -> /src/mount/ts1/...
// Received elsewhere, they still name the source's mountpoints; on a host that also has those
// paths (the source itself, or a second pool there), a standby started on the copy would write
// into another server's WAL or tablespace. relink_data_dir points them at the received datasets'
// mountpoints before the server starts.
#pragma once

#include <string>
#include <vector>

#include "pg/server_tools.h"
#include "pgmigrate/status.h"

namespace pgm::pg {

// A dataset's mountpoint on the source (`from`) and the same dataset's mountpoint here (`to`).
struct Relocation {
  std::string from, to;
};

// "FROM=TO" (two absolute paths) as --relink takes it.
Result<Relocation> parse_relocation(const std::string& text);

// The link target `link` (absolute) rewritten by the relocation whose `from` is its longest
// path-component prefix; `link` itself when it already lies under some `to` (a second run);
// Errc::invalid_argument when it lies under none (outside every migrated dataset).
Result<std::string> relocate_link(const std::string& link, const std::vector<Relocation>& moves);

// Rewrites the absolute links at pg_wal and pg_tblspc/* in `dir` (no server may run there) by
// relocate_link. Relative links are left alone (they move with the tree). Nothing is followed:
// links are read and replaced through the directory's descriptors (a new link under a temporary
// name, renamed over the old one), and each new target must be a directory owned by the data
// directory's owner, reached without any link in its path. Every link is checked before any is
// changed. Returns one line per link changed.
Result<std::vector<std::string>> relink_data_dir(const DataDir& dir, const std::vector<Relocation>& moves);

}  // namespace pgm::pg
