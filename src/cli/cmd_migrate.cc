// `pgmigrate migrate run|plan|status|abort|...`: flags into migrate::RunSettings (which
// migrate/settings.h resolves; include/pgmigrate/migrate.h runs the plan), the far host bound
// through migrate_remote.h, and what the user sees: the progress lines, the plan, `status` and
// the report as migrate/describe.h words them.
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <tuple>

#include "cli/command.h"
#include "cli/exit.h"
#include "cli/migrate_remote.h"
#include "cli/object_transfer.h"
#include "cli/options.h"
#include "common/units.h"
#include "journal/journal.h"
#include "migrate/describe.h"
#include "migrate/metrics.h"
#include "migrate/settings.h"
#include "migrate/target.h"
#include "pgmigrate/migrate.h"
#include "session/metrics_file.h"

namespace pgm::cli {
namespace {

using nlohmann::json;

struct MigrateArgs {
  migrate::RunSettings run;  // run and plan; the other commands take what they need of it
  std::string pause_before;
  std::string far_log_tail = "1M";
  bool json = false;
  objstore::ObjectSettings objects;
};

void print_report(const migrate::StateFile& m, bool quiet) {
  if (quiet) return;
  std::fputc('\n', stderr);
  print_lines(stderr, migrate::report_lines(m.snapshot()));
}

// The flags as the engine takes them, and the far host's binding.
struct Prepared {
  migrate::Spec spec;
  std::unique_ptr<migrate::Remote> remote;
};

// `metrics`: the run's metrics file, which its transfers write too (null for plan).
Result<Prepared> prepare(RunContext& ctx, const MigrateArgs& a, session::MetricsFile* metrics = nullptr) {
  PGM_ASSIGN_OR_RETURN(auto r, migrate::resolve_run(a.run));
  auto remote = make_migrate_remote(ctx, r.remote, r.transfer, a.run.transfer, a.objects, r.spec.privilege_wrapper, metrics);
  return Prepared{std::move(r.spec), std::move(remote)};
}

// Progress lines on stderr ("migrate [2/8 bulk] ..."), or JSON events with --progress json.
class Reporter final : public migrate::Observer {
 public:
  Reporter(RunContext& ctx, const MigrateArgs& a) : ctx_(ctx), args_(a), json_(a.run.transfer.progress == "json") {}

  void say(std::string_view step, const std::string& text) override {
    if (ctx_.global.quiet) return;
    const std::string line = json_ ? migrate::progress_event(step, text).dump() : migrate::progress_line(step, text);
    std::fprintf(stderr, "%s\n", line.c_str());
  }

  // --debug-pause-before STEP (testing aid): waits there up to a minute, or until cancelled.
  Status before_step(std::string_view step) override {
    if (args_.pause_before != step) return Status::Ok();
    std::fprintf(stderr, "migrate: pausing before %.*s (testing aid)\n", static_cast<int>(step.size()), step.data());
    (void)ctx_.cancel.wait_for(std::chrono::minutes(1));
    return ctx_.cancel.cancelled() ? ctx_.cancel.reason() : Status::Ok();
  }

 private:
  RunContext& ctx_;
  const MigrateArgs& args_;
  bool json_;
};

Status run_migration(RunContext& ctx, const MigrateArgs& a, session::MetricsFile& metrics) {
  PGM_ASSIGN_OR_RETURN(auto p, prepare(ctx, a, &metrics));
  PGM_RETURN_IF_ERROR(migrate::resolve_window(a.run, p.spec));
  PGM_ASSIGN_OR_RETURN(auto m, migrate::open(p.spec));
  PGM_RETURN_IF_ERROR(migrate::claim(m));
  PGM_RETURN_IF_ERROR(migrate::record_zfs_flags(p.spec, m));  // a refusal, before any progress line
  // The state file is what the run's threads keep current: the metrics read it from disk, so
  // that they need nothing of this function's objects and outlive none of them.
  metrics.set_extra([path = m.path()]() -> std::vector<MetricFamily> {
    auto state = migrate::StateFile::load(path);
    if (!state) return {};
    return state->read([](const migrate::State& s) { return migrate::migrate_families(s); });
  });
  Reporter reporter(ctx, a);
  reporter.say("preflight", migrate::run_started_text(m.id(), p.spec, m.path()));
  auto outcome = migrate::run(p.spec, *p.remote, ctx.cancel, reporter, m);
  if (!outcome) {
    if (!ctx.global.quiet) std::fprintf(stderr, "%s\n", migrate::stopped_line(m.snapshot()).c_str());
    return name_setting(name_setting(outcome.status(), migrate::kCatchupTimeoutSetting, "--catchup-timeout"),
                        migrate::kAbandonLogicalSlotsSetting, "--abandon-logical-slots");
  }
  print_report(m, ctx.global.quiet);
  if (*outcome == migrate::Outcome::ready && !ctx.global.quiet)
    std::fprintf(stderr, "\n%s\n", migrate::ready_line(m.snapshot(), p.spec).c_str());
  return Status::Ok();
}

Status plan_migration(RunContext& ctx, const MigrateArgs& a) {
  PGM_ASSIGN_OR_RETURN(auto c, prepare(ctx, a));
  PGM_RETURN_IF_ERROR(migrate::resolve_window(a.run, c.spec));
  auto p = migrate::preflight(c.spec, *c.remote, ctx.cancel, nullptr);
  if (!p) return name_setting(p.status(), migrate::kAbandonLogicalSlotsSetting, "--abandon-logical-slots");
  const migrate::PlanWording words{
      c.remote->host_label(), static_cast<double>(*parse_size(a.run.assume_rate)), a.run.delta_target, a.run.max_lag, a.run.fence,
      a.run.switchover};
  print_lines(stdout, migrate::plan_lines(*p, c.spec, words));
  return Status::Ok();
}

Status status_migrations(const MigrateArgs& a) {
  PGM_ASSIGN_OR_RETURN(auto views, migrate::status_views(a.run.state_dir, journal::unix_now()));
  if (a.json) std::printf("%s\n", migrate::status_json(views).dump(2).c_str());
  else print_lines(stdout, migrate::status_lines(views, a.run.state_dir));
  return Status::Ok();
}

Status watch_migration(RunContext& ctx, const MigrateArgs& a) {
  PGM_ASSIGN_OR_RETURN(auto guard, migrate::resolve_watch(a.run));
  const bool quiet = ctx.global.quiet;
  return migrate::watch(a.run.state_dir, a.run.id, guard, ctx.cancel, [quiet](const std::string& line) {
    if (quiet && line.rfind("warning: ", 0) != 0) return;
    std::fprintf(stderr, "migrate watch: %s\n", line.c_str());
  });
}

// The target as a migration's state names it (abort, finish); the other flags of `run` are not
// needed.
std::function<Result<migrate::AbortTarget>(const migrate::State&)> state_target(RunContext& ctx, const MigrateArgs& a) {
  return [&ctx, &a](const migrate::State& st) -> Result<migrate::AbortTarget> {
    MigrateArgs args = a;
    args.run.source = st.source.value_or("");
    args.run.target = st.target.value_or("");
    if (args.run.standby_port <= 0 && args.run.standby.empty()) args.run.standby_port = 1;  // not used here
    PGM_ASSIGN_OR_RETURN(auto p, prepare(ctx, args));
    return migrate::AbortTarget{std::move(p.remote), p.spec.target_dataset};
  };
}

Status print_done(const Result<std::vector<std::string>>& done) {
  if (!done) return done.status();
  print_lines(stdout, *done);
  return Status::Ok();
}

Status abort_migration(RunContext& ctx, const MigrateArgs& a) {
  PGM_ASSIGN_OR_RETURN(auto wrapper, migrate::near_privilege(a.run));
  return print_done(migrate::abort(a.run.state_dir, a.run.id, a.run.primary, state_target(ctx, a), ctx.cancel, wrapper));
}

Status fallback_migration(RunContext& ctx, const MigrateArgs& a) {
  PGM_ASSIGN_OR_RETURN(auto f, migrate::resolve_fallback(a.run));
  PGM_ASSIGN_OR_RETURN(auto out, migrate::fallback(a.run.state_dir, a.run.id, f, state_target(ctx, a), ctx.cancel));
  std::printf("%s", out.c_str());
  return Status::Ok();
}

Status far_log_migration(RunContext& ctx, const MigrateArgs& a) {
  PGM_ASSIGN_OR_RETURN(auto tail, migrate::resolve_far_log_tail(a.far_log_tail));
  PGM_ASSIGN_OR_RETURN(auto log, migrate::far_log(a.run.state_dir, a.run.id, tail, state_target(ctx, a), ctx.cancel));
  if (!ctx.global.quiet) std::fprintf(stderr, "%s\n", migrate::far_log_header(log).c_str());
  std::fwrite(log.text.data(), 1, log.text.size(), stdout);
  return Status::Ok();
}

Status finish_migration(RunContext& ctx, const MigrateArgs& a) {
  PGM_ASSIGN_OR_RETURN(auto wrapper, session::local_privilege_wrapper(a.run.remote));
  return print_done(migrate::finish(a.run.state_dir, a.run.id, a.run.standby, a.run.bindir, state_target(ctx, a), ctx.cancel, wrapper));
}

// A subcommand on one migration that runs `fn`: its ID, --state-dir, and --primary when it needs
// the (old) primary.
using MigrationFn = Status (*)(RunContext&, const MigrateArgs&);
CLI::App* migration_command(CLI::App* migrate, const char* name, const std::string& what, const std::shared_ptr<MigrateArgs>& a,
                            CommandFn& selected, MigrationFn fn, bool primary) {
  CLI::App* cmd = migrate->add_subcommand(name, what);
  cmd->add_option("ID", a->run.id, "The migration id (pgmigrate migrate status)")->required();
  if (primary)
    cmd->add_option("--primary", a->run.primary, "Connection string of the (old) primary")->envname("PGMIGRATE_PRIMARY")->required();
  cmd->add_option("--state-dir", a->run.state_dir, "Where migration state lives");
  on_run(cmd, selected, [a, fn](RunContext& ctx) { return fn(ctx, *a); });
  return cmd;
}

void add_migrate_guard_options(CLI::App& cmd, MigrateArgs& a) {
  const char* group = "Replication slot guard (from the slot's creation to the switchover)";
  cmd.add_option("--wal-warn", a.run.guard.wal_warn, "Warn once the migration's slot retains this much WAL")->group(group);
  cmd.add_option("--wal-limit", a.run.guard.wal_limit, "Stop when the slot retains this much WAL (or its wal_status is unreserved/lost)")
      ->group(group);
  cmd.add_flag("--drop-slot-on-limit", a.run.guard.drop_slot_on_limit, "At the limit, also drop the slot to protect the primary's disk")
      ->group(group);
  cmd.add_option("--guard-interval", a.run.guard.interval, "Time between slot samples")->capture_default_str()->group(group);
}

}  // namespace

// Said wherever --state-dir is: `migrate status` with and without sudo reads different places.
constexpr const char* kStateDirHelp =
    "Where migration state lives (default: $PGMIGRATE_STATE_DIR, else /var/lib/pgmigrate for root and $XDG_STATE_HOME/pgmigrate or "
    "~/.local/state/pgmigrate for other users: run it as the user that runs the migration)";

// The options of `migrate run` and `migrate plan` (plan checks everything run will need).
void add_run_options(CLI::App& cmd, MigrateArgs& a) {
  cmd.add_option("--source", a.run.source, "POOL/FS holding the primary's data directory (and pg_wal)")->required();
  cmd.add_option("--target", a.run.target, "[user@]host:POOL/FS to create on the new host")->required();
  // Connection strings may hold a password: each can come from the environment instead of
  // the command line, where every user of this host would see it in `ps`.
  cmd.add_option("--primary", a.run.primary, "Connection string of the primary (from this host)")->envname("PGMIGRATE_PRIMARY")->required();
  cmd.add_option("--standby-port", a.run.standby_port, "Port for the new server on the target host");
  cmd.add_option("--standby", a.run.standby, "Connection string of the new server from this host (default: target host, --standby-port)")
      ->envname("PGMIGRATE_STANDBY");
  cmd.add_option("--standby-primary", a.run.standby_primary,
                 "Connection string the new server uses to reach the primary (default: --primary)")
      ->envname("PGMIGRATE_STANDBY_PRIMARY");
  cmd.add_option("--rounds", a.run.rounds, "Catch-up incremental sends before the slot is created")->capture_default_str();
  cmd.add_option("--delta-target", a.run.delta_target, "Stop the rounds once an increment moves less than this")->capture_default_str();
  cmd.add_option("--max-lag", a.run.max_lag, "Catch-up bound on the standby's replay lag (and switchover's)")->capture_default_str();
  cmd.add_option("--catchup-timeout", a.run.catchup_timeout, "Give up waiting for catch-up after this long")->capture_default_str();
  cmd.add_flag("--switchover", a.run.switchover, "Switch over once caught up (otherwise stop, ready, and print the command)");
  cmd.add_flag("--no-switchover", a.run.no_switchover, "Stop when the standby has caught up");
  cmd.add_option("--fence", a.run.fence, "Switchover fence: stop or connections")->capture_default_str();
  cmd.add_option("--primary-pgdata", a.run.primary_pgdata, "The primary's data directory on this host (fence stop with pg_ctl)");
  cmd.add_option("--stop-cmd", a.run.stop_cmd, "Shell command that stops the primary (fence stop elsewhere)");
  cmd.add_option("--start-cmd", a.run.start_cmd, "Shell command that starts it again (rollback)");
  cmd.add_option("--pg-bindir", a.run.bindir, "Directory holding pg_ctl (both hosts)");
  cmd.add_option("--target-cluster", a.run.target_cluster,
                 "For a Debian/Ubuntu primary: the cluster (VER/NAME) to create on the target (default: the primary's)");
  cmd.add_option("--timeout", a.run.switch_timeout, "Bound on the switchover")->capture_default_str();
  add_hook_options(cmd, a.run.pre_fence_hook, a.run.post_hook);
  cmd.add_flag("--keep-old-as-standby", a.run.keep_old_as_standby,
               "After the switchover, make the cleanly stopped old primary a standby of the new one (fallback window; the "
               "snapshots are kept)");
  add_migrate_guard_options(cmd, a);
  cmd.add_flag("--keep-snapshots", a.run.keep_snapshots, "Keep the migration snapshots on both sides at clean-up");
  cmd.add_flag("--abandon-logical-slots", a.run.abandon_logical_slots,
               "Switch over although the primary has logical replication slots (they stay behind on the old primary)");
  cmd.add_option("--id", a.run.id, "Name of the migration (default: a new id, or the unfinished one for the same source and target)");
  cmd.add_option("--state-dir", a.run.state_dir, kStateDirHelp);
  cmd.add_option("--assume-rate", a.run.assume_rate, "Rate for plan's time estimates (bytes/s)")->capture_default_str();
  cmd.add_option("--debug-pause-before", a.pause_before, "Testing aid")->group("");
  add_transfer_options(cmd, a.run.transfer);
  add_zfs_options(cmd, a.run.zfs, false);
  add_remote_options(cmd, a.run.remote);
  cmd.add_option("--bulk-via", a.run.bulk_via,
                 "s3://bucket/prefix or gs://...: send the base snapshot through object storage (the target reads it as it "
                 "arrives, with its own credentials); the rest goes over SSH");
  add_object_options(cmd, a.objects, false);
}

void register_migrate(CLI::App& app, CommandFn& selected) {
  auto a = std::make_shared<MigrateArgs>();
  CLI::App* migrate = app.add_subcommand("migrate", "The whole move as one resumable plan: bulk, increments, slot, standby, switchover");
  migrate->require_subcommand(1);

  CLI::App* run = migrate->add_subcommand("run", "Run (or continue) the migration");
  add_run_options(*run, *a);
  on_run(run, selected, [a](RunContext& ctx) {
    session::MetricsFile metrics(a->run.transfer.metrics_file);  // --metrics-file: steps, slot and lag, and each transfer
    Status s = run_migration(ctx, *a, metrics);
    metrics.record_outcome(s);
    return s;
  });
  CLI::App* plan = migrate->add_subcommand("plan", "Check everything and print the steps with sizes; changes nothing");
  add_run_options(*plan, *a);
  on_run(plan, selected, [a](RunContext& ctx) { return plan_migration(ctx, *a); });

  CLI::App* status = migrate->add_subcommand("status",
                                             "Where each migration stands: step, bytes, rate, ETA, slot retention, lag. Reads the "
                                             "state directory of the user running it (root: /var/lib/pgmigrate; others: "
                                             "~/.local/state/pgmigrate)");
  status->add_option("--state-dir", a->run.state_dir, kStateDirHelp);
  status->add_flag("--json", a->json, "JSON, for monitoring");
  on_run(status, selected, [a](RunContext&) { return status_migrations(*a); });

  // The commands on one migration (its ID).
  const std::string watch_help =
      "Guard a migration's slot between runs (run it under systemd): trip at --wal-limit (exit 9), end once the migration has "
      "switched over or was aborted";
  const std::string fallback_help =
      "Switch back to the old primary that the switchover kept as a standby (--keep-old-as-standby): pg switchover on the target "
      "host, with the clean-stop fence of the new primary and every check; the hooks given here run there, inside it, with "
      "PGM_DIRECTION=fallback";
  const std::string finish_help =
      "End the fallback window of a migration whose switchover kept the old primary as a standby: stop it, drop its slot on the new "
      "primary, destroy the migration snapshots on both sides";
  const std::string far_log_help =
      "Print the end of the log the far half of the migration's transfers keeps on its target host (far-half.log in the far "
      "pgmigrate's state directory), read through the same SSH";
  CLI::App* watch = migration_command(migrate, "watch", watch_help, a, selected, watch_migration, true);
  add_migrate_guard_options(*watch, *a);

  CLI::App* fallback = migration_command(migrate, "fallback", fallback_help, a, selected, fallback_migration, true);
  fallback->add_option("--standby-primary", a->run.standby_primary, "How the target host reaches the old primary (default: --primary)")
      ->envname("PGMIGRATE_STANDBY_PRIMARY");
  fallback->add_option("--standby", a->run.standby, "How the target host reaches the new primary (default: the one the migration recorded)")
      ->envname("PGMIGRATE_STANDBY");
  fallback->add_option("--timeout", a->run.switch_timeout, "Bound on the switchover")->capture_default_str();
  // Given again here rather than kept from the run: they run on the target host (where this
  // switchover happens), and the way to reach the pooler from there may differ.
  add_hook_options(*fallback, a->run.pre_fence_hook, a->run.post_hook);
  add_remote_options(*fallback, a->run.remote);

  CLI::App* far_log = migration_command(migrate, "far-log", far_log_help, a, selected, far_log_migration, false);
  far_log->add_option("--tail", a->far_log_tail, "How much of its end to print (whole lines)")->capture_default_str();
  add_remote_options(*far_log, a->run.remote);

  CLI::App* finish = migration_command(migrate, "finish", finish_help, a, selected, finish_migration, false);
  finish->add_option("--standby", a->run.standby, "Connection string of the new primary (default: the one the migration recorded)")
      ->envname("PGMIGRATE_STANDBY");
  finish->add_option("--pg-bindir", a->run.bindir, "Directory holding pg_ctl");
  add_remote_options(*finish, a->run.remote);

  CLI::App* abort =
      migrate->add_subcommand("abort",
                              "Undo a migration: its slot, holds, snapshots and the partial target (never the source data); after "
                              "'migrate fallback', end it: the target's stopped copy goes too");
  abort->add_option("ID", a->run.id, "The migration id (pgmigrate migrate status)")->required();
  abort->add_option("--primary", a->run.primary, "Connection string of the primary")->envname("PGMIGRATE_PRIMARY")->required();
  abort->add_option("--state-dir", a->run.state_dir, kStateDirHelp);
  add_remote_options(*abort, a->run.remote);
  on_run(abort, selected, [a](RunContext& ctx) { return abort_migration(ctx, *a); });
}

}  // namespace pgm::cli
