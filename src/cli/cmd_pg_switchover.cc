// `pgmigrate pg switchover`: fence the old primary, wait for the standby to replay the final
// position, promote it, check it takes writes, run the hooks around that window. Prints a
// timeline of the steps.
#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "cli/exit.h"
#include "cli/options.h"
#include "common/units.h"
#include "pg/describe.h"
#include "pg/settings.h"

namespace pgm::cli {
namespace {

struct SwitchoverArgs {
  pg::SwitchoverSettings s;
  std::string pre_fence_hook, post_hook;
};

}  // namespace

void register_pg_switchover(CLI::App& pg, CommandFn& selected) {
  auto a = std::make_shared<SwitchoverArgs>();
  CLI::App* cmd = pg.add_subcommand(
      "switchover",
      "Fence the old primary (clean stop, or refuse all sessions), wait until the standby replayed its final WAL, promote it, "
      "check it takes writes, run --post-hook (--pre-fence-hook before the fence). Before promotion every failure undoes the fence.");
  cmd->add_option("--primary", a->s.primary, "Connection string of the old primary")->required();
  cmd->add_option("--standby", a->s.standby, "Connection string of the standby to promote")->required();
  cmd->add_option("--slot", a->s.slot, "Slot the standby streams through")->capture_default_str();
  cmd->add_option("--fence", a->s.fence,
                  "stop: CHECKPOINT + fast stop (pg_ctl with --primary-pgdata, pg_ctlcluster with --primary-cluster, or --stop-cmd); "
                  "connections: libpq only, ALLOW_CONNECTIONS false + terminate sessions")
      ->capture_default_str();
  cmd->add_option("--primary-pgdata", a->s.primary_pgdata, "The old primary's data directory on this host (fence stop with pg_ctl)");
  cmd->add_option("--primary-cluster", a->s.primary_cluster,
                  "The old primary is this Debian/Ubuntu cluster on this host (VER/NAME): fence stop with pg_ctlcluster, or "
                  "systemctl where systemd runs it (detected by itself with --primary-pgdata)");
  cmd->add_option("--stop-cmd", a->s.stop_cmd, "Shell command that stops the old primary cleanly (e.g. ssh db1 systemctl stop postgresql)");
  cmd->add_option("--start-cmd", a->s.start_cmd, "Shell command that starts it again (rollback); required with --stop-cmd");
  cmd->add_option("--primary-log", a->s.primary_log, "pg_ctl -l log when restarting the old primary locally on rollback");
  cmd->add_option("--pg-bindir", a->s.bindir, "Directory holding pg_ctl (pg_control is read directly: no pg_controldata needed)");
  cmd->add_option("--max-lag", a->s.max_lag, "Refuse to start while the standby's replay lag exceeds this")->capture_default_str();
  cmd->add_option("--timeout", a->s.timeout, "Bound on the whole switchover up to promotion")->capture_default_str();
  cmd->add_option("--stop-timeout", a->s.stop_timeout, "Bound on the fence (the stop, or terminating sessions)")->capture_default_str();
  cmd->add_flag("--keep-old-as-standby", a->s.keep_old_as_standby,
                "After promotion, make the cleanly stopped old primary (--primary-pgdata/--primary-cluster) a streaming standby of the "
                "new one through --fallback-slot, and prove it follows the new timeline: a fallback is then one more switchover");
  cmd->add_option("--fallback-slot", a->s.fallback_slot, "The slot on the new primary that the old one streams through")
      ->capture_default_str();
  add_hook_options(*cmd, a->pre_fence_hook, a->post_hook);
  cmd->add_option("--hook-timeout", a->s.hook_timeout, "Bound on each hook")->capture_default_str();
  cmd->add_option("--hook-direction", a->s.direction, "PGM_DIRECTION in the hooks' environment (migrate fallback passes fallback)")
      ->check(CLI::IsMember({"switchover", "fallback"}))
      ->capture_default_str();
  on_run(cmd, selected, [a](RunContext& ctx) -> Status {
    PGM_ASSIGN_OR_RETURN(auto o, pg::switchover_options(a->s));
    o.pre_fence_hook = a->pre_fence_hook;
    o.post_hook = a->post_hook;
    const bool quiet = ctx.global.quiet;
    pg::Switchover sw(o, ctx.cancel, [quiet](const pg::SwitchoverStep& s) {
      if (quiet && s.ok) return;
      std::printf("%s\n", pg::switchover_step_line(s).c_str());
      std::fflush(stdout);
    });
    Status st = sw.run();
    print_lines(stdout, pg::switchover_result_lines(sw.report()));
    std::fflush(stdout);
    return name_setting(name_setting(st, pg::kStopTimeoutSetting, "--stop-timeout"), pg::kPrimaryClusterSetting, "--primary-cluster");
  });
}

}  // namespace pgm::cli
