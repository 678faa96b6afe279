// `pg standby`'s work on a received data directory, before any start: a streaming standby's
// files (standby.h), its pg_wal and tablespace links pointed at the received datasets
// (relink.h), and with a Debian cluster its configuration directory (debian_cluster.h), in the
// order those headers require. Starting it stays a separate call (start_standby), so that a
// caller can report what was prepared before the wait for streaming begins.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pg/debian_cluster.h"
#include "pg/relink.h"
#include "pg/server_tools.h"
#include "pg/standby.h"
#include "pgmigrate/status.h"

namespace pgm::pg {

// The Debian/Ubuntu cluster to make of the directory, from the source's config bundle.
struct DebianStandby {
  ClusterId id;
  ConfigBundle bundle;
};

struct StandbySetupSpec {
  std::string pgdata;  // the received data directory
  StandbySpec standby;
  std::vector<Relocation> relink;       // FROM=TO moves of pg_wal and pg_tblspc/* links
  std::optional<DebianStandby> debian;  // nullopt: a plain data directory started with pg_ctl
};

struct StandbySetup {
  DataDir dir;
  PreparedStandby prepared;
  std::vector<std::string> relinked;  // one line per link changed
  // With a Debian cluster: the target cluster, its rendered configuration and what was written.
  struct Debian {
    TargetCluster target;
    RenderedConfig rendered;
    WrittenCluster written;
  };
  std::optional<Debian> debian;
};

// Inspects the directory, plans the Debian cluster (refused before the directory changes), then
// prepares the standby, relinks and writes the cluster's configuration. Each step is idempotent,
// so a failed set-up can be run again.
Result<StandbySetup> set_up_standby(const StandbySetupSpec& spec);

}  // namespace pgm::pg
