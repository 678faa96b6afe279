// `pgmigrate pg ...`: the Postgres side of a migration (src/pg/). Commands parse flags, call the
// library and print; `pg switchover` lives in cmd_pg_switchover.cc.
#include <cstdio>
#include <memory>

#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "cli/exit.h"
#include "common/units.h"
#include "pg/conninfo.h"
#include "pg/debian_cluster.h"
#include "pg/describe.h"
#include "pg/settings.h"

namespace pgm::cli {

void register_pg_switchover(CLI::App& pg, CommandFn& selected);

namespace {

void print_slot(const pg::SlotStatus& s, bool json) {
  if (json) {
    std::printf("%s\n", pg::slot_json(s).dump().c_str());
    return;
  }
  print_lines(stdout, pg::slot_lines(s));
  std::fflush(stdout);
}

struct SlotArgs {
  pg::SlotSettings s;
  bool json = false;
};

void add_slot_common(CLI::App* cmd, SlotArgs& a) {
  cmd->add_option("--primary", a.s.guard.primary, "Connection string of the primary (key=value or postgresql:// URI)")->required();
  cmd->add_option("--slot", a.s.guard.slot, "Replication slot name")->capture_default_str();
}

void register_slot(CLI::App& pg, CommandFn& selected) {
  CLI::App* slot = pg.add_subcommand("slot", "The migration's physical replication slot on the primary");
  slot->require_subcommand(1);

  auto a = std::make_shared<SlotArgs>();
  CLI::App* create = slot->add_subcommand("create", "Create a physical slot that reserves WAL at once (run it before the snapshot)");
  add_slot_common(create, *a);
  create->add_flag("--json", a->json, "Print the new slot as JSON");
  on_run(create, selected, [a](RunContext&) -> Status {
    PGM_ASSIGN_OR_RETURN(auto s, pg::create_migration_slot(pg::slot_spec(a->s)));
    if (!a->json) std::printf("%s\n", pg::slot_created_line(a->s.guard.slot, s).c_str());
    print_slot(s.status, a->json);
    return Status::Ok();
  });

  CLI::App* status =
      slot->add_subcommand("status", "Show restart_lsn, retained WAL, wal_status, safe_wal_size and whether the slot is in use");
  add_slot_common(status, *a);
  status->add_flag("--json", a->json, "Print JSON");
  on_run(status, selected, [a](RunContext&) -> Status {
    PGM_ASSIGN_OR_RETURN(auto s, pg::migration_slot_status(pg::slot_spec(a->s)));
    print_slot(s, a->json);
    return Status::Ok();
  });

  CLI::App* drop = slot->add_subcommand("drop", "Drop the slot (refused while a standby streams from it)");
  add_slot_common(drop, *a);
  on_run(drop, selected, [a](RunContext& ctx) -> Status {
    PGM_ASSIGN_OR_RETURN(auto primary, pg::drop_migration_slot(pg::slot_spec(a->s)));
    if (!ctx.global.quiet) std::printf("dropped slot '%s' on %s\n", a->s.guard.slot.c_str(), primary.c_str());
    return Status::Ok();
  });

  CLI::App* watch =
      slot->add_subcommand("watch", "Poll the slot's retained WAL: warn at --wal-warn, fail at --wal-limit or when WAL is unreserved/lost");
  add_slot_common(watch, *a);
  watch->add_option("--wal-warn", a->s.guard.wal_warn, "Warn once retained WAL reaches this size (e.g. 2G)");
  watch->add_option("--wal-limit", a->s.guard.wal_limit, "Fail when retained WAL reaches this size (e.g. 8G)");
  watch->add_flag("--drop-slot-on-limit", a->s.guard.drop_on_limit, "When the guard trips, drop the slot to protect the primary's disk");
  watch->add_option("--interval", a->s.guard.interval, "Time between samples")->capture_default_str();
  watch->add_option("--duration", a->s.duration, "Stop watching (successfully) after this long; default: until interrupted");
  watch->add_flag("--json", a->json, "Print each sample as a JSON line");
  on_run(watch, selected, [a](RunContext& ctx) -> Status {
    PGM_ASSIGN_OR_RETURN(auto spec, pg::slot_watch_spec(a->s));
    const bool json = a->json, quiet = ctx.global.quiet;
    return pg::watch_slot(spec, ctx.cancel, [json, quiet](pg::GuardEvent ev, const pg::SlotStatus& s, const std::string& msg) {
      switch (ev) {
        case pg::GuardEvent::sample:
          if (json) std::printf("%s\n", pg::slot_json(s).dump().c_str());
          else if (!quiet) std::printf("%s\n", pg::slot_sample_line(s).c_str());
          std::fflush(stdout);
          break;
        case pg::GuardEvent::warn: spdlog::warn("{}", msg); break;
        case pg::GuardEvent::unreachable: spdlog::warn("slot guard: {} (retrying)", msg); break;
        case pg::GuardEvent::trip: break;  // returned as the command's status
      }
    });
  });
}

struct CheckArgs {
  std::string primary;
  std::vector<std::string> datasets;
};

void register_check(CLI::App& pg, CommandFn& selected) {
  auto a = std::make_shared<CheckArgs>();
  CLI::App* cmd = pg.add_subcommand(
      "check", "Before the snapshot, on the primary's host: refuse a layout where pg_wal or a tablespace lies outside the dataset(s)");
  cmd->add_option("--primary", a->primary, "Connection string of the primary")->required();
  cmd->add_option("--dataset", a->datasets, "POOL/FS that will be snapshotted (repeat for several)")->required();
  on_run(cmd, selected, [a](RunContext& ctx) -> Status {
    PGM_ASSIGN_OR_RETURN(auto rep, pg::check_layout(pg::LayoutCheckSpec{a->primary, a->datasets}));
    if (!ctx.global.quiet) {
      print_lines(stdout, pg::layout_lines(rep));
      std::fflush(stdout);
    }
    if (!rep.ok()) {
      print_lines(stdout, pg::layout_problem_lines(rep));
      return pg::layout_refusal(rep);
    }
    if (!ctx.global.quiet) std::printf("layout ok: a snapshot of the dataset(s) holds everything the standby needs\n");
    return Status::Ok();
  });
}

struct ClusterArgs {
  std::string cluster, out;
};

void register_cluster(CLI::App& pg, CommandFn& selected) {
  CLI::App* cluster = pg.add_subcommand("cluster", "Debian/Ubuntu (postgresql-common) clusters");
  cluster->require_subcommand(1);
  auto a = std::make_shared<ClusterArgs>();
  CLI::App* exp = cluster->add_subcommand(
      "export", "On the source: the cluster's configuration directory (/etc/postgresql/VER/NAME) as a config bundle for `pg standby`");
  exp->add_option("--cluster", a->cluster, "The source's cluster, VER/NAME as pg_lsclusters shows it (e.g. 15/main)")->required();
  exp->add_option("--out", a->out, "Write the bundle to this file (default: standard output)");
  on_run(exp, selected, [a](RunContext& ctx) -> Status {
    auto id = pg::parse_cluster_id(a->cluster);
    if (!id) return id.status().context("--cluster");
    PGM_ASSIGN_OR_RETURN(auto bundle, pg::collect_bundle(*id));
    for (const auto& n : bundle.notes) spdlog::warn("{}", n);
    if (a->out.empty() || a->out == "-") {
      const std::string json = pg::bundle_to_json(bundle);
      std::fwrite(json.data(), 1, json.size(), stdout);
      std::fflush(stdout);
      return Status::Ok();
    }
    PGM_RETURN_IF_ERROR(pg::write_bundle_file(bundle, a->out));
    if (!ctx.global.quiet)
      std::printf("exported %s (%zu files from %s) to %s\n", id->str().c_str(), bundle.files.size(), bundle.conf_dir.c_str(),
                  a->out.c_str());
    return Status::Ok();
  });
}

// What `pg standby` did, on stdout: migrate relays this output (a far stderr is read only on
// failure).
void print_standby_setup(const pg::StandbySetup& done, const std::string& primary, const std::string& slot, bool quiet) {
  if (!quiet) {
    print_lines(stdout, pg::standby_setup_lines(done, primary, slot));
    std::fflush(stdout);
    return;
  }
  if (done.debian)
    for (const auto& w : done.debian->rendered.warnings) spdlog::warn("{}", w);
}

void register_standby(CLI::App& pg, CommandFn& selected) {
  auto a = std::make_shared<pg::StandbySettings>();
  CLI::App* cmd = pg.add_subcommand("standby", "Turn a received data directory into a streaming standby (and start it with --start)");
  cmd->add_option("--pgdata", a->pgdata, "The received data directory")->required();
  cmd->add_option("--primary", a->primary, "Connection string the standby uses to reach the primary (written to primary_conninfo)")
      ->required();
  cmd->add_option("--slot", a->slot, "Replication slot on the primary")->capture_default_str();
  cmd->add_option("--port", a->port, "Port for the standby (when the primary's port is taken here)");
  cmd->add_flag("--start", a->start,
                "Start it with pg_ctl as the directory's owner (pg_ctlcluster with --debian-cluster) and check that it streams");
  cmd->add_option("--standby", a->standby,
                  "Connection string to check the started standby (default: its socket, as the directory's owner)");
  cmd->add_option("--log", a->log, "Server log for pg_ctl -l (default PGDATA/pgmigrate-postgres.log)");
  cmd->add_option("--pg-bindir", a->bindir, "Directory holding pg_ctl (default /usr/lib/postgresql/<version>/bin, else PATH)");
  cmd->add_option("--timeout", a->timeout, "How long to wait for start-up and streaming")->capture_default_str();
  cmd->add_option("--debian-cluster", a->debian_cluster,
                  "Make the directory this Debian/Ubuntu cluster (VER/NAME): its config in /etc/postgresql/VER/NAME from "
                  "--config-bundle, started with pg_ctlcluster");
  cmd->add_option("--config-bundle", a->config_bundle, "The source cluster's config bundle (`pgmigrate pg cluster export` there)");
  cmd->add_option("--config-bundle-json", a->config_bundle_json,
                  "The config bundle's JSON text itself (for --options-stdin's line, as migrate passes it)");
  cmd->add_option("--relink", a->relink,
                  "FROM=TO: point pg_wal and pg_tblspc/* links under the source mountpoint FROM at the received dataset's mountpoint "
                  "TO (repeatable; migrate passes one per dataset of the tree)");
  on_run(cmd, selected, [a](RunContext& ctx) -> Status {
    PGM_ASSIGN_OR_RETURN(auto request, pg::standby_request(*a));
    PGM_ASSIGN_OR_RETURN(auto done, pg::set_up_standby(request.setup));
    print_standby_setup(done, a->primary, a->slot, ctx.global.quiet);
    if (!a->start) return Status::Ok();
    PGM_ASSIGN_OR_RETURN(auto started, pg::start_standby(done.dir, pg::start_options(request, done), ctx.cancel));
    if (!ctx.global.quiet) std::printf("standby started and streaming (%s)\n", pg::describe_conninfo(started).c_str());
    return Status::Ok();
  });
}

struct LagArgs {
  pg::LagSettings s;
  bool json = false;
};

void print_lag(const pg::LagReport& r, bool json) {
  if (json) std::printf("%s\n", pg::lag_json(r).dump().c_str());
  else print_lines(stdout, pg::lag_lines(r));
  std::fflush(stdout);
}

void register_lag(CLI::App& pg, CommandFn& selected) {
  auto a = std::make_shared<LagArgs>();
  CLI::App* cmd =
      pg.add_subcommand("lag", "Sent/write/flush/replay lag of the standby in bytes and time; --wait blocks until it is below a bound");
  cmd->add_option("--primary", a->s.primary, "Connection string of the primary")->required();
  cmd->add_option("--standby", a->s.standby, "Connection string of the standby")->required();
  cmd->add_option("--slot", a->s.slot, "Slot the standby streams through (finds its walsender)")->capture_default_str();
  cmd->add_option("--wait", a->s.wait, "Block until the standby's replay lag is below this many bytes (e.g. 1M)");
  cmd->add_option("--timeout", a->s.timeout, "Give up waiting after this long")->capture_default_str();
  cmd->add_flag("--json", a->json, "Print JSON");
  on_run(cmd, selected, [a](RunContext& ctx) -> Status {
    // Connected before --wait and --timeout are read: a wrong conninfo is the error reported first.
    PGM_ASSIGN_OR_RETURN(auto probe, pg::LagProbe::connect(pg::lag_spec(a->s)));
    if (a->s.wait.empty()) {
      PGM_ASSIGN_OR_RETURN(auto r, probe.measure());
      print_lag(r, a->json);
      return Status::Ok();
    }
    PGM_ASSIGN_OR_RETURN(auto wait, pg::lag_wait(a->s));
    auto last_print = std::chrono::steady_clock::now() - std::chrono::seconds(10);
    const bool quiet = ctx.global.quiet;
    auto r = probe.wait(wait.bound, wait.timeout, ctx.cancel, [&](const pg::LagReport& rep) {
      if (quiet || std::chrono::steady_clock::now() - last_print < std::chrono::seconds(5)) return;
      last_print = std::chrono::steady_clock::now();
      spdlog::info("waiting: replay lag {}", rep.replay_lsn ? format_bytes(static_cast<double>(rep.replay_bytes())) : "unknown");
    });
    if (!r) return name_setting(r.status(), pg::kLagTimeoutSetting, "--timeout");
    if (!quiet) print_lag(*r, a->json);
    return Status::Ok();
  });
}

}  // namespace

void register_pg(CLI::App& app, CommandFn& selected) {
  CLI::App* pg = app.add_subcommand("pg", "Postgres: replication slot, standby, lag, switchover");
  pg->require_subcommand(1);
  register_slot(*pg, selected);
  register_check(*pg, selected);
  register_standby(*pg, selected);
  register_cluster(*pg, selected);
  register_lag(*pg, selected);
  register_pg_switchover(*pg, selected);
}

}  // namespace pgm::cli
