// `pgmigrate _migrate-target`: migrate's work on the target host (src/migrate/target.h), run
// there through SSH exec with the same binary. Not for people. Prints the answer, one JSON
// object, on stdout; failures are ordinary errors (one line on stderr, non-zero exit).
#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "migrate/target.h"

namespace pgm::cli {

namespace {
void print_line(const nlohmann::json& j) {
  // A log tail may hold bytes that are not UTF-8: replaced, never a throw.
  std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  std::fflush(stdout);
}
}  // namespace

void register_migrate_target(CLI::App& app, CommandFn& selected) {
  auto a = std::make_shared<migrate::TargetRequest>();
  CLI::App* cmd = app.add_subcommand(migrate::kTargetCommand, "Internal: migrate's work on the target host")->group("");
  cmd->add_option("--dataset", a->dataset)->required();
  cmd->add_flag("--probe", a->probe);
  cmd->add_option("--pg-major", a->pg_major);
  cmd->add_option("--replication", a->replication);
  cmd->add_option("--pg-bindir", a->bindir);
  cmd->add_option("--destroy-snapshots", a->destroy_prefix);
  cmd->add_flag("--abort", a->abort);
  cmd->add_flag("--after-fallback", a->after_fallback);
  cmd->add_option("--pgdata", a->pgdata);
  cmd->add_option("--far-log", a->far_log);
  cmd->add_option("--tree-mounts", a->tree_mounts);
  cmd->add_option("--probe-tls-port", a->probe_tls_port)->check(CLI::Range(0, 65535));
  on_run(cmd, selected, [a](RunContext& ctx) -> Status {
    PGM_ASSIGN_OR_RETURN(auto answer, migrate::run_target(*a, ctx.cancel, print_line));
    if (!answer.is_null()) print_line(answer);
    return Status::Ok();
  });
}

}  // namespace pgm::cli
