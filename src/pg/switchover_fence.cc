// The switchover's fence (a clean stop of the old primary, or refusing its sessions) and its
// undo (restarting the old primary as it was), apart from the sequence in switchover.cc.
#include <thread>

#include "common/units.h"
#include "pg/conninfo.h"
#include "pg/standby.h"
#include "pg/switchover.h"
#include "pg/switchover_internal.h"

namespace pgm::pg {
using namespace switchover_detail;

Status Switchover::fence() { return opt_.fence == Fence::stop ? fence_stop() : fence_connections(); }

Status Switchover::fence_stop() {
  // A checkpoint now makes the shutdown checkpoint (taken while writes are refused) short.
  auto ck = primary_->exec("CHECKPOINT");
  step("checkpoint", ck.ok(), ck ? "done" : ck.status().message() + " (continuing: it only shortens the stop)");
  auto pre = primary_->scalar_lsn("SELECT pg_current_wal_lsn()");
  if (!pre) return pre.status();
  pre_fence_lsn_ = *pre;
  primary_.reset();  // the stop terminates it anyway

  const auto budget = std::min(opt_.stop_timeout, remaining());
  fence_started_ = Clock::now();
  report_.fenced = true;
  if (primary_dir_) {
    PGM_RETURN_IF_ERROR(stop_old_primary(budget));
    auto cd = read_controldata(*primary_dir_, opt_.bindir);
    if (!cd) return cd.status();
    if (cd->state != "shut down")
      return Status(Errc::postgres, "the old primary's cluster state is '" + cd->state +
                                        "' after the stop, not 'shut down': its last WAL may not have reached the standby");
    report_.final_lsn = *cd->checkpoint;
    final_exclusive_ = true;
    step("fence", true, "old primary shut down cleanly; final position = shutdown checkpoint " + cd->checkpoint->str());
    return Status::Ok();
  }

  step("fence", true, "stopping the old primary with --stop-cmd (up to " + fmt_s(seconds(budget)) + ")");
  auto run = run_bounded({opt_.stop_cmd}, budget, &cancel_, true);
  if (!run) return run.status();
  if (!run->success()) return Status(run->timed_out ? Errc::timeout : Errc::child_failed, "--stop-cmd " + run->describe());
  // The old primary must be gone and the standby's WAL receiver disconnected: only then is what
  // the standby received all there is.
  const auto until = Clock::now() + std::min(budget, remaining());
  bool down = false;
  std::string receiver = "?";
  while (Clock::now() < until && !cancelled()) {
    down = down || !server_answers(opt_.primary_conninfo);
    if (down) {
      auto w = read_wal_receiver(*standby_);
      if (!w) return w.status();
      receiver = w->status.empty() ? "stopped" : w->status;
      if (w->status != "streaming") {
        if (!w->receive_lsn) return Status(Errc::postgres, "the standby reports no received WAL position");
        if (*w->receive_lsn < pre_fence_lsn_)
          return Status(Errc::postgres, "the standby received only up to " + w->receive_lsn->str() + ", before the primary's position " +
                                            pre_fence_lsn_.str() + " at the fence: WAL was lost in the stop");
        report_.final_lsn = *w->receive_lsn;
        step("fence", true, "old primary is down and its walsender gone; final position = standby's received " + w->receive_lsn->str());
        return Status::Ok();
      }
    }
    (void)cancel_.wait_for(100ms);  // a cancel ends the loop at once
  }
  if (cancelled()) return cancel_.reason();
  return Status(Errc::timeout, down ? "the old primary is down but the standby's WAL receiver still reports '" + receiver + "'"
                                    : "--stop-cmd finished but the old primary still answers at --primary: it did not stop");
}

// The stopped old cluster's start.conf goes to manual: a reboot or `systemctl restart postgresql`
// must not bring back a second primary. Not a reason to undo the stop if it cannot be written.
void Switchover::keep_old_cluster_down() {
  auto mode = read_start_mode(*primary_cluster_);
  if (mode && *mode == "auto") {
    Status w = write_start_mode(*primary_cluster_, "manual", kDebianConfRoot, opt_.privilege_wrapper);
    if (w.ok()) primary_start_mode_ = *mode;
    step("fence", w.ok(),
         w.ok() ? "start.conf of " + primary_cluster_->str() + " set to manual (was auto): nothing starts it again; rollback restores it"
                : "could not set start.conf of " + primary_cluster_->str() + " to manual (" + w.message() + "): set it by hand");
  } else if (!mode) {
    step("fence", false, "could not read start.conf of " + primary_cluster_->str() + " (" + mode.status().message() + ")");
  }
}

Status Switchover::stop_old_primary(std::chrono::milliseconds budget) {
  const auto secs = std::max<long long>(1, std::chrono::duration_cast<std::chrono::seconds>(budget).count());
  if (primary_cluster_) {
    // Its manager's way, so that nothing (systemd's unit, start.conf) restarts it behind us.
    const bool systemd = systemd_runs();
    step("fence", true,
         "stopping the old primary (" +
             cluster_command(*primary_cluster_, ClusterAction::stop, systemd, std::chrono::seconds(secs)).describe +
             (systemd ? ", or systemctl stop when its unit is active" : "") + ")");
    PGM_RETURN_IF_ERROR(control_cluster(*primary_cluster_, ClusterAction::stop, budget, &cancel_, opt_.privilege_wrapper));
    keep_old_cluster_down();
    return Status::Ok();
  }
  step("fence", true, "stopping the old primary (pg_ctl stop -m fast, up to " + std::to_string(secs) + "s)");
  return pg_ctl_stop(*primary_dir_, opt_.bindir, std::chrono::seconds(secs), &cancel_);
}

Result<std::optional<ClusterId>> Switchover::primary_debian_cluster() {
  if (!opt_.primary_cluster.empty()) {
    auto id = parse_cluster_id(opt_.primary_cluster);
    if (!id) return id.status().context(kPrimaryClusterSetting);
    return std::optional<ClusterId>(*id);
  }
  // --primary-pgdata of a server that reads /etc/postgresql/V/N/postgresql.conf: a Debian cluster.
  auto file = primary_->scalar("SHOW config_file");
  if (!file) return file.status();
  return cluster_from_config_file(*file);
}

Status Switchover::fence_connections() {
  auto dbs = primary_->exec("SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname");
  if (!dbs) return dbs.status();
  fence_started_ = Clock::now();
  report_.fenced = true;
  // A session may not disallow its own database: the helper session (on helper_db_) closes
  // every other database, then the main session closes the helper's.
  for (std::size_t i = 0; i < dbs->rows(); ++i) {
    const std::string name = dbs->get(i, 0).value_or("");
    if (name == helper_db_) continue;
    auto r = helper_->exec("ALTER DATABASE " + helper_->quote_ident(name) + " WITH ALLOW_CONNECTIONS false");
    if (!r) return r.status();
    disallowed_dbs_.push_back(name);
  }
  {
    auto r = primary_->exec("ALTER DATABASE " + primary_->quote_ident(helper_db_) + " WITH ALLOW_CONNECTIONS false");
    if (!r) return r.status();
    disallowed_dbs_.push_back(helper_db_);
  }
  step("fence", true, "new sessions refused on " + std::to_string(disallowed_dbs_.size()) + " database(s); terminating client sessions");
  const auto budget = std::min(opt_.stop_timeout, remaining());
  const auto until = Clock::now() + budget;
  int clean_polls = 0;
  long left = -1;
  while (Clock::now() < until && !cancelled()) {
    auto r = primary_->exec(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE backend_type = 'client backend' AND pid <> ALL (string_to_array($1, ',')::int[])",
        {our_pids_});
    if (!r) return r.status();
    auto n = primary_->scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> ALL (string_to_array($1, ',')::int[])",
        {our_pids_});
    if (!n) return n.status();
    left = std::atol(n->c_str());
    // Two clean looks in a row: a session that passed authentication just before the ALTER
    // shows up in the first.
    clean_polls = left == 0 ? clean_polls + 1 : 0;
    if (clean_polls >= 2) break;
    (void)cancel_.wait_for(50ms);  // a cancel ends the loop at once
  }
  if (cancelled()) return cancel_.reason();
  if (clean_polls < 2)
    return Status(Errc::timeout, std::to_string(left) + " client session(s) on the old primary would not terminate within " +
                                     kStopTimeoutSetting + " (" + fmt_s(seconds(budget)) + ")");
  auto px = primary_->scalar("SELECT count(*) FROM pg_prepared_xacts");
  if (px && *px != "0")
    report_.notes.push_back(
        *px + " prepared transaction(s) remain on the old primary: they are not committed on the new one unless committed there");
  auto fin = primary_->scalar_lsn("SELECT pg_current_wal_insert_lsn()");
  if (!fin) return fin.status();
  report_.final_lsn = *fin;
  final_exclusive_ = false;
  step("fence", true,
       "no client session left; final position = " + fin->str() +
           " (not stopped by this fence: background workers such as autovacuum; they write only to the old primary)");
  return Status::Ok();
}

Status Switchover::rollback(const Status& why) {
  if (!report_.fenced) {
    if (pre_hook_ran_ && !opt_.post_hook.empty()) (void)run_hook("--post-hook", opt_.post_hook, "rolled-back");
    return why.context("switchover aborted before the fence; the primary stays writable and the standby was not promoted");
  }
  step("rollback", true, "undoing the fence: " + why.message());
  Status s;
  if (opt_.fence == Fence::connections) {
    for (const auto& db : disallowed_dbs_) {
      // Re-allow from a session that is not on that database (either will do otherwise).
      Connection* via = nullptr;
      for (auto* c : {db == primary_db_ ? &helper_ : &primary_, db == primary_db_ ? &primary_ : &helper_}) {
        if (via == nullptr && c->has_value() && (*c)->alive()) via = &**c;
      }
      if (via == nullptr) {
        s = Status(Errc::postgres,
                   "both fence sessions on the old primary were lost, so connections cannot be re-allowed over libpq; "
                   "run ALTER DATABASE ... ALLOW_CONNECTIONS true in single-user mode (postgres --single)");
        break;
      }
      auto r = via->exec("ALTER DATABASE " + via->quote_ident(db) + " WITH ALLOW_CONNECTIONS true");
      if (!r && s.ok()) s = r.status();
    }
  } else {
    s = restart_old_primary();
  }
  if (s.ok()) s = wait_old_primary_writable(60s);
  if (!s.ok()) {
    step("rollback", false, s.message());
    return Status(why.code(), "switchover aborted before promotion (" + why.message() + ") and the ROLLBACK FAILED: " + s.message() +
                                  "; the standby was not promoted; bring the old primary back by hand");
  }
  report_.rolled_back = true;
  report_.write_window_s = seconds(Clock::now() - fence_started_);
  step("rollback", true, "the old primary accepts writes again after " + fmt_s(*report_.write_window_s) + "; the standby was not promoted");
  // A paused pooler resumes against the old primary (PGM_PHASE=rolled-back).
  if (pre_hook_ran_ && !opt_.post_hook.empty()) (void)run_hook("--post-hook", opt_.post_hook, "rolled-back");
  return why.context(
      "switchover aborted before promotion and rolled back: the old primary is writable again, the standby was not promoted");
}

Status Switchover::restart_old_primary() {
  if (server_accepts(opt_.primary_conninfo)) return Status::Ok();  // the stop never happened
  if (primary_dir_) {
    auto prefix = run_as_owner_prefix(*primary_dir_);
    if (!prefix) return prefix.status();
    const std::string pg_ctl = find_pg_program("pg_ctl", primary_dir_->major, opt_.bindir);
    // A stop that timed out may leave the server half way through its shutdown, which cannot be
    // cancelled: finish it with an immediate stop (crash recovery at start keeps every commit).
    std::vector<std::string> status_argv = *prefix;
    for (const std::string& a : {pg_ctl, std::string("status"), std::string("-D"), primary_dir_->path}) status_argv.push_back(a);
    auto st = run_bounded(status_argv, 30s);
    if (st && st->success()) {
      std::vector<std::string> argv = *prefix;
      for (const std::string& a : {pg_ctl, std::string("stop"), std::string("-D"), primary_dir_->path, std::string("-m"),
                                   std::string("immediate"), std::string("-w"), std::string("-t"), std::string("30")})
        argv.push_back(a);
      auto stop = run_bounded(argv, 40s);
      step("rollback", stop && stop->success(), "finished the interrupted shutdown with an immediate stop");
    }
    if (primary_cluster_) {
      if (primary_start_mode_) {
        PGM_RETURN_IF_ERROR(write_start_mode(*primary_cluster_, *primary_start_mode_, kDebianConfRoot, opt_.privilege_wrapper));
        step("rollback", true, "start.conf of " + primary_cluster_->str() + " back to " + *primary_start_mode_);
        primary_start_mode_.reset();
      }
      PGM_RETURN_IF_ERROR(control_cluster(*primary_cluster_, ClusterAction::start, 60s, nullptr, opt_.privilege_wrapper));
      step("rollback", true,
           "restarted the old primary as Debian cluster " + primary_cluster_->str() + " (" +
               cluster_command(*primary_cluster_, ClusterAction::start, systemd_runs(), 60s).describe + ")");
      return Status::Ok();
    }
    const std::string log = opt_.primary_log.empty() ? primary_dir_->path + "/pgmigrate-postgres.log" : opt_.primary_log;
    std::vector<std::string> argv = *prefix;
    for (const std::string& a : {pg_ctl, std::string("start"), std::string("-D"), primary_dir_->path, std::string("-l"), log,
                                 std::string("-w"), std::string("-t"), std::string("60")})
      argv.push_back(a);
    auto run = run_bounded(argv, 70s);
    if (!run) return run.status();
    if (auto refused = owner_wrapper_refusal(*primary_dir_, "pg_ctl start", *run)) return *refused;
    if (!run->success()) return Status(Errc::child_failed, "pg_ctl start " + run->describe() + "; see " + log);
    step("rollback", true, "restarted the old primary with pg_ctl (log " + log + ")");
    return Status::Ok();
  }
  // --start-cmd: a stop that timed out may still be in progress; wait for the server to be gone
  // (or back) before starting it. The waits here are plain bounded sleeps, not the cancel
  // token's: a rollback also runs after a cancel, and must not be cut short by it.
  for (int attempt = 0; attempt < 3; ++attempt) {
    for (int i = 0; i < 100 && server_answers(opt_.primary_conninfo) && !server_accepts(opt_.primary_conninfo); ++i)
      std::this_thread::sleep_for(100ms);
    if (server_accepts(opt_.primary_conninfo)) return Status::Ok();
    auto run = run_bounded({opt_.start_cmd}, 60s, nullptr, true);
    if (!run) return run.status();
    step("rollback", run->success(), "--start-cmd " + (run->success() ? std::string("succeeded") : run->describe()));
    if (run->success()) return Status::Ok();
    std::this_thread::sleep_for(1s);
  }
  return Status(Errc::child_failed, "--start-cmd did not bring the old primary back");
}

// Part of the rollback, which also runs after a cancel: plain bounded sleeps, not the token's.
Status Switchover::wait_old_primary_writable(std::chrono::milliseconds budget) {
  const auto until = Clock::now() + budget;
  Status last;
  while (Clock::now() < until) {
    auto c = Connection::connect(opt_.primary_conninfo, "primary");
    if (c) {
      last = try_write(*c);
      if (last.ok()) return last;
    } else {
      last = c.status();
    }
    std::this_thread::sleep_for(200ms);
  }
  return Status(Errc::timeout, "the old primary does not accept writes again: " + last.message());
}

}  // namespace pgm::pg
