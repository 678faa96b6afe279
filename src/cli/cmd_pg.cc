// `pgmigrate pg ...`: the Postgres side of a migration (src/pg/).
#include "cli/command.h"

namespace pgm::cli {

void register_pg(CLI::App& app, CommandFn& selected) {
  (void)selected;
  CLI::App* pg = app.add_subcommand("pg", "Postgres: replication slot, standby, lag, switchover");
  pg->require_subcommand(1);
}

}  // namespace pgm::cli
