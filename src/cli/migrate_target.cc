// `pgmigrate _migrate-target`: what `migrate` needs done on the target host, run there through
// the control session (SSH exec) with the same binary. Not for people. Prints one JSON object
// on stdout; failures are ordinary errors (one line on stderr, non-zero exit).
//   --probe                 ZFS capabilities, pool space, the dataset's state, Postgres tools,
//                           and whether this host can open a replication connection
//   --destroy-snapshots P   destroys DATASET's snapshots whose names start with P (pgmigrate-*)
//   --abort                 stops the standby on --pgdata, aborts receives into DATASET, destroys it;
//                           refuses (before stopping anything) when the server there is not a
//                           standby: a promoted server is the new primary
//   --probe-tls-port N      listens for one TLS data connection as a transfer's far half would
//                           (prints {"port","key"} at once, then waits up to 30 s for it)
#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/command.h"
#include "journal/journal.h"
#include "pg/connection.h"
#include "pg/control_state.h"
#include "pg/server_tools.h"
#include "source/process.h"
#include "transport/tls.h"
#include "zfs/zfs.h"

namespace pgm::cli {
namespace {

using nlohmann::json;

struct TargetArgs {
  std::string dataset, replication, destroy_prefix, pgdata, bindir;
  int pg_major = 0;
  int probe_tls_port = -1;
  bool probe = false, abort = false;
};

Status probe(const TargetArgs& a) {
  zfs::Zfs zfs;
  json out;
  auto caps = zfs.capabilities();
  if (!caps) return caps.status();
  out["zfs"] = caps->describe();
  out["recv_resumable"] = caps->recv_resumable;
  const std::string pool = a.dataset.substr(0, a.dataset.find('/'));
  auto pool_exists = zfs.exists(pool);
  out["pool_exists"] = pool_exists && *pool_exists;
  if (pool_exists && *pool_exists) {
    if (auto avail = zfs.get("available", pool)) out["pool_available"] = std::strtoull(avail->c_str(), nullptr, 10);
  }
  auto ds_exists = zfs.exists(a.dataset);
  out["dataset_exists"] = ds_exists && *ds_exists;
  if (ds_exists && *ds_exists) {
    if (auto mp = zfs.get("mountpoint", a.dataset)) out["mountpoint"] = *mp;
    if (auto snaps = zfs.snapshots(a.dataset)) out["snapshots"] = *snaps;
  }
  out["resume_token"] = !zfs.resume_token(a.dataset).empty();
  if (a.pg_major > 0) {
    std::string pg_ctl = pg::find_pg_program("pg_ctl", a.pg_major, a.bindir);  // the one `pg standby` will run
    auto v = run_command({pg_ctl, "--version"});
    std::string version = v && v->success() ? v->out : "";
    out["pg_ctl"] = pg_ctl;
    out["pg_ctl_version"] = version;
    // "pg_ctl (PostgreSQL) 15.4": the major is the first number.
    std::size_t d = version.find_first_of("0123456789");
    out["pg_major_ok"] = d != std::string::npos && std::atoi(version.c_str() + d) == a.pg_major;
  }
  if (!a.replication.empty()) {
    Status r = pg::check_replication_connection(a.replication);
    out["replication"] = r.ok() ? "ok" : r.message();
  }
  std::printf("%s\n", out.dump().c_str());
  return Status::Ok();
}

Status destroy_snapshots(const TargetArgs& a) {
  // Only snapshots this tool named: never anything else on the target.
  if (a.destroy_prefix.rfind("pgmigrate-", 0) != 0)
    return Status(Errc::invalid_argument, "refusing to destroy snapshots not named pgmigrate-*");
  zfs::Zfs zfs;
  json destroyed = json::array();
  auto snaps = zfs.snapshots(a.dataset);
  if (!snaps) return snaps.status();
  const std::string tag = a.destroy_prefix.substr(0, a.destroy_prefix.size() - 1);  // pgmigrate-<id>
  for (const auto& snap : *snaps) {
    if (snap.rfind(a.dataset + "@" + a.destroy_prefix, 0) != 0) continue;
    (void)zfs.release(tag, snap);  // received snapshots carry no hold; this is for safety
    PGM_RETURN_IF_ERROR(zfs.destroy(snap));
    destroyed.push_back(snap);
  }
  std::printf("%s\n", json{{"destroyed", destroyed}}.dump().c_str());
  return Status::Ok();
}

// `abort` must never stop or destroy a promoted server: it holds every write since the
// switchover (done by hand with `pg switchover`, or by a `migrate run` killed before it could
// record it). Refuses unless the server in --pgdata is a standby (pg::assess_server_role).
Status refuse_unless_standby(const TargetArgs& a, const pg::ServerRole& role, bool after_stop) {
  if (!role.data_directory || role.standby) return Status::Ok();
  const std::string where = "the server on " + a.dataset + " (" + a.pgdata + ")";
  const std::string why = (role.timeline.empty() ? "" : role.timeline + "; ") + role.evidence;
  if (after_stop)
    return Status(Errc::invalid_argument, where + " was promoted while pgmigrate stopped it (" + why +
                                              "): refusing to destroy it; it is the new primary: start it again (pg_ctl start -D " +
                                              a.pgdata + ") and keep it");
  return Status(Errc::invalid_argument,
                where + (role.primary ? " is a primary (" : " cannot be confirmed as a standby (") + why +
                    "): refusing to stop or destroy it; if the switchover happened, the migration is done: keep this server and remove "
                    "the migration's pgmigrate-* snapshots (and the old primary's slot) by hand instead of aborting; if this server "
                    "is not wanted, stop it and destroy " +
                    a.dataset + " yourself");
}

Status abort_target(const TargetArgs& a, RunContext& ctx) {
  json out{{"stopped_postgres", false}, {"aborted_receives", json::array()}, {"destroyed", false}};
  if (!a.pgdata.empty()) {
    // Decided before anything is stopped: a primary stopped by mistake is an outage even if
    // nothing is destroyed after.
    auto role = pg::assess_server_role(a.pgdata);
    if (!role) return role.status().context("checking the server in " + a.pgdata + " before destroying " + a.dataset);
    PGM_RETURN_IF_ERROR(refuse_unless_standby(a, *role, false));
    if (role->running) {
      auto dir = pg::inspect_data_dir(a.pgdata);
      if (!dir) return dir.status();
      auto prefix = pg::run_as_owner_prefix(*dir);
      if (!prefix) return prefix.status();
      std::vector<std::string> argv = *prefix;
      argv.push_back(pg::find_pg_program("pg_ctl", dir->major));
      for (const char* x : {"-D", a.pgdata.c_str(), "-m", "fast", "-w", "-t", "60", "stop"}) argv.emplace_back(x);
      auto r = pg::run_bounded(argv, std::chrono::seconds(90), &ctx.cancel);
      if (!r || !r->success())
        return Status(Errc::child_failed, "cannot stop the standby in " + a.pgdata + ": " + (r ? r->describe() : r.status().message()));
      out["stopped_postgres"] = true;
      // A promotion between the check and the stop (pg_ctl promote, a switchover elsewhere)
      // shows in what the stopped server left: "shut down", no standby.signal.
      auto stopped = pg::assess_server_role(a.pgdata);
      if (!stopped) return stopped.status().context("checking the stopped server in " + a.pgdata);
      PGM_RETURN_IF_ERROR(refuse_unless_standby(a, *stopped, true));
    }
  }
  // A receive into the dataset that waits for its sender: stop it (it aborts zfs receive).
  const std::string dir = journal::state_dir_path("");
  for (const auto& l : journal::list(dir)) {
    if (l.record.role != "receive" || l.record.target.substr(0, l.record.target.find('@')) != a.dataset) continue;
    if (l.alive) PGM_RETURN_IF_ERROR(journal::stop_process(l.record, std::chrono::seconds(60)));  // never a reused pid
    (void)journal::remove_files(l.path);
    out["aborted_receives"].push_back(l.record.session);
  }
  zfs::Zfs zfs;
  (void)zfs.abort_resumable_receive(a.dataset);
  // zfs-fuse finishes aborting a receive asynchronously ("dataset is busy" for a moment).
  for (int attempt = 0; attempt < 50; ++attempt) {
    auto exists = zfs.exists(a.dataset);
    if (!exists) return exists.status();
    if (!*exists) break;
    Status destroyed = zfs.destroy(a.dataset, /*recursive=*/true);
    if (destroyed.ok()) {
      out["destroyed"] = true;
      break;
    }
    if (attempt == 49) return destroyed;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  std::printf("%s\n", out.dump().c_str());
  return Status::Ok();
}

// The TLS data path, tried the way a transfer uses it: a listener with a fresh key on the
// address SSH reached us at; the plan connects to it from the source host.
Status probe_tls(const TargetArgs& a, RunContext& ctx) {
  auto key = transport::TlsKey::generate();
  if (!key) return key.status();
  auto l = transport::TlsListener::listen(transport::ssh_server_address(), a.probe_tls_port, *key);
  if (!l) return l.status().context("--tls-port");
  std::printf("%s\n", json{{"port", l->port()}, {"key", key->hex()}}.dump().c_str());
  std::fflush(stdout);
  // Up to 30 s, but no longer than the plan that asked is there: it closes our stdin when it
  // gives up (a blocked port), and then nothing will come.
  Result<UniqueFd> fd = Status(Errc::timeout, "no TLS connection came within 30 s");
  for (int tick = 0; tick < 150 && !fd && fd.status().code() == Errc::timeout; ++tick) {
    fd = l->accept(ctx.cancel, 200);
    pollfd in{0, POLLIN, 0};
    char c = 0;
    if (!fd && ::poll(&in, 1, 0) == 1 && ::read(0, &c, 1) <= 0) return Status(Errc::network, "the plan stopped waiting for the TLS probe");
  }
  if (!fd) return fd.status().code() == Errc::timeout ? Status(Errc::timeout, "no TLS connection came within 30 s") : fd.status();
  auto tls = l->handshake(std::move(*fd), std::chrono::steady_clock::now() + std::chrono::seconds(30), ctx.cancel);
  if (!tls) return tls.status();
  (void)(*tls)->wait_exit();
  return Status::Ok();
}

}  // namespace

void register_migrate_target(CLI::App& app, CommandFn& selected) {
  auto a = std::make_shared<TargetArgs>();
  CLI::App* cmd = app.add_subcommand("_migrate-target", "Internal: migrate's work on the target host")->group("");
  cmd->add_option("--dataset", a->dataset)->required();
  cmd->add_flag("--probe", a->probe);
  cmd->add_option("--pg-major", a->pg_major);
  cmd->add_option("--replication", a->replication);
  cmd->add_option("--pg-bindir", a->bindir);
  cmd->add_option("--destroy-snapshots", a->destroy_prefix);
  cmd->add_flag("--abort", a->abort);
  cmd->add_option("--pgdata", a->pgdata);
  cmd->add_option("--probe-tls-port", a->probe_tls_port)->check(CLI::Range(0, 65535));
  cmd->callback([a, &selected] {
    selected = [a](RunContext& ctx) -> Status {
      PGM_RETURN_IF_ERROR(zfs::validate_dataset(a->dataset));
      if (a->probe) return probe(*a);
      if (!a->destroy_prefix.empty()) return destroy_snapshots(*a);
      if (a->abort) return abort_target(*a, ctx);
      if (a->probe_tls_port >= 0) return probe_tls(*a, ctx);
      return Status(Errc::invalid_argument, "_migrate-target: nothing to do");
    };
  });
}

}  // namespace pgm::cli
