#include "pg/switchover.h"

#include <ctime>
#include <thread>

#include "common/units.h"
#include "pg/conninfo.h"
#include "pg/standby.h"

#include "pg/switchover_internal.h"

namespace pgm::pg {
using namespace switchover_detail;

Result<Fence> parse_fence(const std::string& text) {
  if (text == "stop") return Fence::stop;
  if (text == "connections") return Fence::connections;
  if (text == "read-only" || text == "readonly" || text == "read_only")
    return Status(Errc::invalid_argument,
                  "a read-only setting is not a fence: any session can undo it (SET default_transaction_read_only = off, BEGIN READ "
                  "WRITE); use --fence stop or --fence connections");
  return Status(Errc::invalid_argument, "unknown --fence '" + text + "': use 'stop' or 'connections'");
}

const char* fence_name(Fence f) { return f == Fence::stop ? "stop" : "connections"; }

std::string format_timestamp(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

Switchover::Switchover(SwitchoverOptions options, const CancelToken& cancel, StepObserver on_step)
    : opt_(std::move(options)), cancel_(cancel), on_step_(std::move(on_step)) {}

void Switchover::step(const std::string& name, bool ok, const std::string& detail) {
  SwitchoverStep s{std::chrono::system_clock::now(), seconds(Clock::now() - start_), name, ok, detail};
  report_.steps.push_back(s);
  if (on_step_) on_step_(s);
}

std::chrono::milliseconds Switchover::remaining() const {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
  return left.count() > 0 ? left : 0ms;
}

Status Switchover::validate() const {
  if (opt_.primary_conninfo.empty()) return Status(Errc::invalid_argument, "--primary CONNINFO is required");
  if (opt_.standby_conninfo.empty()) return Status(Errc::invalid_argument, "--standby CONNINFO is required");
  PGM_RETURN_IF_ERROR(validate_slot_name(opt_.slot));
  if (opt_.fence == Fence::stop) {
    const int ways = static_cast<int>(!opt_.primary_pgdata.empty()) + static_cast<int>(!opt_.stop_cmd.empty()) +
                     static_cast<int>(!opt_.primary_cluster.empty());
    if (ways != 1)
      return Status(
          Errc::invalid_argument,
          "--fence stop needs exactly one of --primary-pgdata DIR (the old primary runs on this host), --primary-cluster VER/NAME "
          "(a Debian cluster on this host) or --stop-cmd CMD");
    if (!opt_.primary_cluster.empty()) PGM_RETURN_IF_ERROR(parse_cluster_id(opt_.primary_cluster).status().context(kPrimaryClusterSetting));
    if (!opt_.stop_cmd.empty() && opt_.start_cmd.empty())
      return Status(Errc::invalid_argument, "--stop-cmd needs --start-cmd too, so that a failed switchover can restart the old primary");
  } else if (!opt_.primary_pgdata.empty() || !opt_.stop_cmd.empty() || !opt_.primary_cluster.empty()) {
    return Status(Errc::invalid_argument,
                  "--fence connections does not stop the server: drop --primary-pgdata/--primary-cluster/--stop-cmd, or use --fence stop");
  }
  if (opt_.keep_old_as_standby) {
    if (opt_.fence != Fence::stop || (opt_.primary_pgdata.empty() && opt_.primary_cluster.empty()))
      return Status(Errc::invalid_argument,
                    "--keep-old-as-standby needs --fence stop with --primary-pgdata or --primary-cluster: pgmigrate configures and starts "
                    "the old server on this host, and only a clean stop lets it follow the new timeline without a rewind");
    PGM_RETURN_IF_ERROR(validate_slot_name(opt_.fallback_slot).context("--fallback-slot"));
  }
  if (opt_.timeout.count() <= 0 || opt_.stop_timeout.count() <= 0)
    return Status(Errc::invalid_argument, "--timeout and --stop-timeout must be positive");
  return Status::Ok();
}

Status Switchover::run() {
  start_ = Clock::now();
  deadline_ = start_ + opt_.timeout;
  PGM_RETURN_IF_ERROR(validate());

  Status s = precheck();
  if (!s.ok()) {
    step("pre-checks", false, s.message());
    // The servers' state is not what a switchover needs: a Postgres-side refusal, not a usage error.
    if (s.code() == Errc::invalid_argument) s = Status(Errc::postgres, s.message());
    return s.context("switchover refused; nothing was changed and the primary stays writable");
  }
  if (cancelled()) return cancel_.reason();

  if (!opt_.pre_fence_hook.empty()) {
    pre_hook_ran_ = true;  // whatever it did before failing (a PAUSE) is for the post-hook to undo
    s = run_hook("--pre-fence-hook", opt_.pre_fence_hook, "pre-fence");
    if (!s.ok()) {
      if (!opt_.post_hook.empty()) (void)run_hook("--post-hook", opt_.post_hook, "rolled-back");
      return Status(Errc::child_failed, "switchover refused: " + s.message() +
                                            "; nothing was fenced and the primary stays writable (undo what the hook did, if anything)");
    }
  }
  if (cancelled()) return cancel_.reason();

  s = fence();
  if (s.ok() && cancelled()) s = cancel_.reason();
  if (!s.ok()) {
    step("fence", false, s.message());
    return rollback(s);
  }
  s = wait_catch_up();
  if (s.ok() && cancelled()) s = cancel_.reason();
  if (!s.ok()) {
    step("catch-up", false, s.message());
    if (s.code() == Errc::internal) return s;  // the standby left recovery by itself: no rollback
    return rollback(s);
  }

  // Point of no return: from here on the old primary is never made writable again.
  s = promote();
  if (!s.ok()) {
    step("promote", false, s.message());
    return s;
  }
  s = check_new_primary_writes();
  if (!s.ok()) {
    step("write check", false, s.message());
    return s;
  }
  release_slot();
  if (!opt_.post_hook.empty()) {
    s = run_hook("--post-hook", opt_.post_hook, "promoted");
    if (!s.ok())
      return Status(s.code(),
                    "the standby was promoted and accepts writes, but " + s.message() + "; run the hook's work (DNS, pooler) by hand");
  }
  if (opt_.keep_old_as_standby) {
    s = keep_old_as_standby();
    if (!s.ok()) {
      step("fallback", false, s.message());
      return Status(s.code(), "the standby was promoted and accepts writes, but keeping the old primary as its standby failed: " +
                                  s.message() + "; there is no fallback to it: keep it stopped (do not start it as a primary)");
    }
  }
  step("done", true, "switchover complete; writes were refused for " + fmt_s(report_.write_window_s.value_or(0)));
  return Status::Ok();
}

Status Switchover::keep_old_as_standby() {
  const std::string& slot = opt_.fallback_slot;
  auto created = create_slot(*standby_, slot);
  if (!created && created.status().code() != Errc::exists) return created.status();
  step("fallback", true, "slot '" + slot + "' on the new primary for the old one");
  // The clean stop's shutdown checkpoint is exactly where the new timeline begins, so the old
  // data directory can follow it as it is: no rewind, no copy.
  StandbySpec spec;
  spec.primary_conninfo = opt_.standby_conninfo;
  spec.slot = slot;
  spec.latest_timeline = true;
  auto prepared = prepare_standby(*primary_dir_, spec);
  if (!prepared) return prepared.status();
  step("fallback", true,
       "configured " + primary_dir_->path + " as a standby of the new primary (standby.signal, primary_conninfo, primary_slot_name '" +
           slot + "', recovery_target_timeline = latest; removed its own copy of slot '" + opt_.slot + "')");
  StartOptions so;
  so.bindir = opt_.bindir;
  if (!primary_cluster_) so.log_file = opt_.primary_log;
  so.debian_cluster = primary_cluster_;
  so.check_conninfo = opt_.primary_conninfo;
  so.timeout = 2min;
  auto started = start_standby(*primary_dir_, so, cancel_);
  if (!started) return started.status();
  // Proof that it follows: a write made on the new primary after the promotion, replayed there.
  auto fresh = Connection::connect(opt_.standby_conninfo, "new primary");
  if (!fresh) return fresh.status();
  PGM_RETURN_IF_ERROR(try_write(*fresh));
  auto mark = fresh->scalar_lsn("SELECT pg_current_wal_lsn()");
  if (!mark) return mark.status();
  auto old = Connection::connect(opt_.primary_conninfo, "old primary");
  if (!old) return old.status();
  std::string last = "no sample";
  for (const auto until = Clock::now() + 60s; Clock::now() < until && !cancelled(); (void)cancel_.wait_for(100ms)) {
    auto w = read_wal_receiver(*old);
    if (!w) return w.status();
    if (w->received_tli == report_.new_timeline && w->replay_lsn && *w->replay_lsn >= *mark) {
      report_.old_is_standby = true;
      step("fallback", true,
           "the old primary streams from the new one on timeline " + std::to_string(w->received_tli) +
               " and replayed a write made there (" + mark->str() +
               "); fall back with 'pgmigrate pg switchover' in the other direction (--slot " + slot + ")");
      return Status::Ok();
    }
    last = "timeline " + std::to_string(w->received_tli) + ", replayed " + (w->replay_lsn ? w->replay_lsn->str() : "-");
  }
  if (cancelled()) return cancel_.reason();
  return Status(Errc::timeout, "the old primary runs as a standby but did not replay the new primary's write " + mark->str() +
                                   " within 60s (" + last + ")");
}

Status Switchover::precheck() {
  auto p = Connection::connect(opt_.primary_conninfo, "primary");
  if (!p) return p.status();
  primary_.emplace(std::move(*p));
  auto s = Connection::connect(opt_.standby_conninfo, "standby");
  if (!s) return s.status();
  standby_.emplace(std::move(*s));
  old_host_ = primary_->host();
  old_port_ = primary_->port();
  new_host_ = standby_->host();
  new_port_ = standby_->port();

  auto prec = primary_->scalar("SELECT pg_is_in_recovery()");
  if (!prec) return prec.status();
  if (*prec == "t")
    return Status(Errc::invalid_argument, "the " + primary_->label() + " is itself a standby: --primary must be the current primary");
  auto w = read_wal_receiver(*standby_);
  if (!w) return w.status();
  if (!w->in_recovery)
    return Status(Errc::invalid_argument,
                  "the " + standby_->label() + " is not in recovery: it is already a primary, not a standby (check --standby)");

  auto psys = primary_->scalar("SELECT system_identifier::text FROM pg_control_system()");
  if (!psys) return psys.status();
  auto ssys = standby_->scalar("SELECT system_identifier::text FROM pg_control_system()");
  if (!ssys) return ssys.status();
  if (*psys != *ssys)
    return Status(Errc::invalid_argument, "the standby belongs to a different cluster (system identifier " + *ssys + ", primary's " +
                                              *psys + "): --standby is not a copy of --primary");
  system_identifier_ = *psys;

  auto slot = slot_status(*primary_, opt_.slot);
  if (!slot) return slot.status();
  if (w->status != "streaming")
    return Status(Errc::postgres,
                  "the standby is not streaming (WAL receiver: " + (w->status.empty() ? std::string("not running") : w->status) +
                      "): fix its primary_conninfo / the primary's pg_hba.conf and check with 'pgmigrate pg lag'");
  if (w->slot_name != opt_.slot)
    return Status(Errc::invalid_argument,
                  "the standby streams through slot '" + w->slot_name + "', not '" + opt_.slot + "': pass --slot " +
                      (w->slot_name.empty() ? std::string("(set primary_slot_name on the standby)") : w->slot_name));
  if (!slot->active)
    return Status(
        Errc::postgres,
        "slot '" + opt_.slot + "' on the primary is not in use: the standby streams from another server; check its primary_conninfo");
  auto tli = primary_timeline(*primary_);
  if (!tli) return tli.status();
  report_.old_timeline = *tli;
  if (w->received_tli != *tli)
    return Status(Errc::invalid_argument, "the standby receives timeline " + std::to_string(w->received_tli) +
                                              " but the primary is on timeline " + std::to_string(*tli) +
                                              ": it does not follow this primary");
  if (w->replay_paused)
    return Status(Errc::invalid_argument, "WAL replay is paused on the standby: resume it (SELECT pg_wal_replay_resume()) first");
  auto cur = primary_->scalar_lsn("SELECT pg_current_wal_lsn()");
  if (!cur) return cur.status();
  auto replay = standby_->scalar_lsn("SELECT pg_last_wal_replay_lsn()");
  if (!replay) return replay.status();
  const std::uint64_t lag = lsn_bytes_behind(*cur, *replay);
  if (lag > opt_.max_lag)
    return Status(Errc::invalid_argument, "the standby's replay is " + format_bytes(static_cast<double>(lag)) + " behind (--max-lag " +
                                              format_bytes(static_cast<double>(opt_.max_lag)) +
                                              "): wait with 'pgmigrate pg lag --wait' and retry");
  auto can_promote = standby_->scalar("SELECT has_function_privilege('pg_promote(boolean, integer)', 'EXECUTE')");
  if (!can_promote) return can_promote.status();
  if (*can_promote != "t")
    return Status(Errc::invalid_argument,
                  "the standby's user may not run pg_promote: connect as a superuser or GRANT EXECUTE ON FUNCTION pg_promote TO it");

  auto fence_detail = prepare_fence();
  if (!fence_detail) return fence_detail.status();
  step("pre-checks", true,
       "standby streams from the primary through slot '" + opt_.slot + "', system " + system_identifier_ + ", timeline " +
           std::to_string(*tli) + ", replay lag " + format_bytes(static_cast<double>(lag)) + "; " + *fence_detail);
  return Status::Ok();
}

Result<std::string> Switchover::prepare_fence() {
  if (opt_.fence == Fence::connections) return prepare_connection_fence();
  if (!opt_.primary_pgdata.empty() || !opt_.primary_cluster.empty()) return prepare_stop_fence();
  return std::string("fence stop with --stop-cmd");
}

Result<std::string> Switchover::prepare_connection_fence() {
  auto su = primary_->scalar("SELECT rolsuper FROM pg_roles WHERE rolname = current_user");
  if (!su) return su.status();
  if (*su != "t")
    return Status(Errc::invalid_argument,
                  "--fence connections needs a superuser on the primary (ALTER DATABASE on every database, terminating every session)");
  auto db = primary_->scalar("SELECT current_database()");
  if (!db) return db.status();
  primary_db_ = *db;
  auto other = primary_->exec(
      "SELECT datname FROM pg_database WHERE datallowconn AND datname <> current_database() "
      "ORDER BY datname = 'template1' DESC, datname = 'postgres' DESC, datname LIMIT 1");
  if (!other) return other.status();
  if (other->rows() == 0)
    return Status(Errc::invalid_argument, "--fence connections needs a second database that allows connections (template1 normally does)");
  helper_db_ = other->get(0, 0).value_or("");
  auto h = Connection::connect(conninfo_with(opt_.primary_conninfo, "dbname", helper_db_), "primary");
  if (!h) return h.status().context("opening the fence's second session (database " + helper_db_ + ")");
  helper_.emplace(std::move(*h));
  auto p1 = primary_->scalar("SELECT pg_backend_pid()");
  auto p2 = helper_->scalar("SELECT pg_backend_pid()");
  if (!p1) return p1.status();
  if (!p2) return p2.status();
  our_pids_ = *p1 + "," + *p2;
  return "fence connections (sessions on " + primary_db_ + " and " + helper_db_ + ")";
}

Result<std::string> Switchover::prepare_stop_fence() {
  auto cluster = primary_debian_cluster();
  if (!cluster) return cluster.status();
  primary_cluster_ = *cluster;
  std::string pgdata = opt_.primary_pgdata;
  if (primary_cluster_ && pgdata.empty()) {
    auto d = existing_cluster_data_dir(*primary_cluster_);
    if (!d) return d.status();
    if (!*d || (*d)->empty())
      return Status(Errc::invalid_argument, std::string(kPrimaryClusterSetting) + " " + primary_cluster_->str() +
                                                " is not a Debian cluster on this host (see pg_lsclusters)");
    pgdata = **d;
  }
  auto dir = inspect_data_dir(pgdata, opt_.privilege_wrapper);
  if (!dir) return dir.status().context(opt_.primary_pgdata.empty() ? kPrimaryClusterSetting : "--primary-pgdata");
  auto cd = read_controldata(*dir, opt_.bindir);
  if (!cd) return cd.status();
  if (cd->system_identifier != system_identifier_)
    return Status(Errc::invalid_argument, "--primary-pgdata " + dir->path + " belongs to cluster " + cd->system_identifier +
                                              ", not to --primary (" + system_identifier_ + ")");
  if (cd->state != "in production")
    return Status(Errc::invalid_argument, "--primary-pgdata " + dir->path + " is '" + cd->state + "', not a running primary");
  PGM_RETURN_IF_ERROR(run_as_owner_prefix(*dir).status());
  primary_dir_ = *dir;
  return primary_cluster_ ? "fence stop of Debian cluster " + primary_cluster_->str() + " (" + dir->path + ")"
                          : "fence stop with pg_ctl in " + dir->path;
}

Status Switchover::wait_catch_up() {
  const Lsn target = *report_.final_lsn;
  auto reached = [&](const std::optional<Lsn>& l) { return l && (final_exclusive_ ? *l > target : *l >= target); };
  std::string last = "no sample";
  for (;;) {
    auto w = read_wal_receiver(*standby_);
    if (!w) return w.status();
    if (!w->in_recovery)
      return Status(Errc::internal,
                    "the standby left recovery before pgmigrate promoted it (someone else promoted it?); the old primary stays fenced: "
                    "decide by hand which server is the primary");
    if (w->replay_paused)
      return Status(Errc::postgres, "WAL replay was paused on the standby; it cannot reach the final position " + target.str());
    if (reached(w->receive_lsn) && reached(w->replay_lsn)) {
      step(
          "catch-up", true,
          "standby received " + w->receive_lsn->str() + " and replayed " + w->replay_lsn->str() + " (final position " + target.str() + ")");
      return Status::Ok();
    }
    last = "received " + (w->receive_lsn ? w->receive_lsn->str() : "-") + ", replayed " + (w->replay_lsn ? w->replay_lsn->str() : "-");
    if (remaining().count() == 0)
      return Status(Errc::timeout, "the standby did not reach the final position " + target.str() + " within --timeout (" + last + ")");
    if (!cancel_.wait_for(50ms)) return cancel_.reason();
  }
}

Status Switchover::promote() {
  const long wait_s = std::max<long>(10, static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(remaining()).count()));
  step("promote", true, "pg_promote(wait => true, " + std::to_string(wait_s) + "s) on the standby");
  auto r = standby_->scalar("SELECT pg_promote(true, $1::int)", {std::to_string(wait_s)});
  if (!r)
    return Status(Errc::postgres,
                  "promotion failed: " + r.status().message() + "; the standby may still promote: check it; the old primary stays fenced");
  if (*r != "t")
    return Status(Errc::timeout, "the standby did not finish promotion within " + std::to_string(wait_s) +
                                     "s; it may still do so: check it; the old primary stays fenced");
  report_.promoted = true;
  auto rec = standby_->scalar("SELECT pg_is_in_recovery()");
  if (!rec) return rec.status();
  if (*rec != "f")
    return Status(Errc::postgres, "pg_promote returned but the standby is still in recovery; check its log; the old primary stays fenced");
  auto tli = primary_timeline(*standby_);
  if (!tli) return tli.status();
  report_.new_timeline = *tli;
  if (*tli != report_.old_timeline + 1)
    return Status(Errc::postgres, "the new primary is on timeline " + std::to_string(*tli) + ", expected " +
                                      std::to_string(report_.old_timeline + 1) + "; check its history files before sending writes to it");
  step("promote", true, "standby promoted: timeline " + std::to_string(report_.old_timeline) + " -> " + std::to_string(*tli));
  if (!disallowed_dbs_.empty()) {
    // ALTER DATABASE ... ALLOW_CONNECTIONS false was WAL-logged before the final position, so
    // the new primary inherited it: open its databases again (the old primary's stay closed).
    for (const auto& db : disallowed_dbs_) {
      auto alter = standby_->exec("ALTER DATABASE " + standby_->quote_ident(db) + " WITH ALLOW_CONNECTIONS true");
      if (!alter)
        return Status(Errc::postgres, "the new primary inherited the fence (ALLOW_CONNECTIONS false on " + db +
                                          ") and re-allowing failed: " + alter.status().message() +
                                          "; run ALTER DATABASE ... WITH ALLOW_CONNECTIONS true on it by hand");
    }
    step("reopen", true,
         "re-allowed connections on the new primary's " + std::to_string(disallowed_dbs_.size()) +
             " database(s) (the fence's ALTER DATABASE replicated to it)");
  }
  return Status::Ok();
}

Status Switchover::check_new_primary_writes() {
  Status last;
  const auto until = Clock::now() + 10s;
  do {
    // A new session, as a client would open: it proves the server takes connections too.
    auto c = Connection::connect(opt_.standby_conninfo, "standby");
    last = c ? try_write(*c) : c.status();
    if (last.ok()) {
      report_.write_window_s = seconds(Clock::now() - fence_started_);
      step("write check", true, "the new primary accepted a write; writes were refused for " + fmt_s(*report_.write_window_s));
      return Status::Ok();
    }
    // Past the promotion a cancel undoes nothing, so this bounded check runs to its end.
    std::this_thread::sleep_for(100ms);
  } while (Clock::now() < until);
  return Status(Errc::postgres,
                "the promoted standby refuses writes: " + last.message() + "; check default_transaction_read_only and its log");
}

void Switchover::release_slot() {
  if (opt_.fence == Fence::stop && opt_.keep_old_as_standby) return;  // its copy goes when it becomes a standby
  if (opt_.fence == Fence::stop) {
    report_.notes.push_back("slot '" + opt_.slot +
                            "' remains on the stopped old primary: do not start it as a primary; rebuild it as a standby of the new one "
                            "(pg_rewind) or drop the slot if you ever start it");
    return;
  }
  // The promoted standby's WAL receiver has gone, so the slot becomes inactive shortly. Past
  // the promotion a cancel undoes nothing: a plain bounded wait, not the token's.
  Status s;
  for (int i = 0; i < 100; ++i) {
    s = drop_slot(*primary_, opt_.slot);
    if (s.ok()) break;
    std::this_thread::sleep_for(100ms);
  }
  if (s.ok()) step("slot", true, "dropped slot '" + opt_.slot + "' on the old primary");
  else report_.notes.push_back("could not drop slot '" + opt_.slot + "' on the old primary (" + s.message() + "): drop it there by hand");
  report_.notes.push_back(
      "the old primary still runs with ALLOW_CONNECTIONS false on every database; never allow connections again: stop it, then rebuild it "
      "as a standby (pg_rewind) or retire it");
  report_.notes.push_back(
      "this fence did not stop background workers on the old primary (autovacuum, extensions' workers); whatever they wrote after the "
      "fence stays on the old primary only");
}

const std::vector<std::string>& hook_variable_help() {
  static const std::vector<std::string> lines = {
      "PGM_PHASE: pre-fence (before the fence), promoted (after promotion), rolled-back (after a rollback undid the fence)",
      "PGM_DIRECTION: switchover, or fallback (migrate fallback: back to the old primary, which PGM_NEW_PRIMARY_* then name)",
      "PGM_PRIMARY_HOST, PGM_PRIMARY_PORT: the server that takes writes from now on (new primary once promoted, else the old one)",
      "PGM_OLD_PRIMARY_HOST, PGM_OLD_PRIMARY_PORT, PGM_OLD_PRIMARY_CONNINFO: the old primary (conninfo without its password)",
      "PGM_NEW_PRIMARY_HOST, PGM_NEW_PRIMARY_PORT, PGM_NEW_PRIMARY_CONNINFO: the standby that is (or was to be) promoted",
      "PGM_FENCE: stop or connections",
      "PGM_OLD_TIMELINE: the old primary's timeline",
      "PGM_NEW_TIMELINE: the new primary's timeline (empty unless promoted)",
      "PGM_SWITCH_LSN: the fence's final WAL position (empty before the fence)",
  };
  return lines;
}

std::vector<std::string> Switchover::hook_environment(const std::string& phase) const {
  const bool promoted = report_.promoted;
  return {
      "PGM_PHASE=" + phase,
      "PGM_DIRECTION=" + opt_.direction,
      "PGM_PRIMARY_HOST=" + (promoted ? new_host_ : old_host_),
      "PGM_PRIMARY_PORT=" + (promoted ? new_port_ : old_port_),
      "PGM_OLD_PRIMARY_HOST=" + old_host_,
      "PGM_OLD_PRIMARY_PORT=" + old_port_,
      "PGM_OLD_PRIMARY_CONNINFO=" + redact_conninfo(opt_.primary_conninfo),
      "PGM_NEW_PRIMARY_HOST=" + new_host_,
      "PGM_NEW_PRIMARY_PORT=" + new_port_,
      "PGM_NEW_PRIMARY_CONNINFO=" + redact_conninfo(opt_.standby_conninfo),
      "PGM_FENCE=" + std::string(fence_name(opt_.fence)),
      "PGM_OLD_TIMELINE=" + std::to_string(report_.old_timeline),
      "PGM_NEW_TIMELINE=" + (promoted ? std::to_string(report_.new_timeline) : std::string()),
      "PGM_SWITCH_LSN=" + (report_.final_lsn ? report_.final_lsn->str() : std::string()),
  };
}

Status Switchover::run_hook(const std::string& flag, const std::string& cmd, const std::string& phase) {
  const std::string name = flag.substr(2);  // "pre-fence-hook", "post-hook"
  step(name, true, "running " + flag + " (PGM_PHASE=" + phase + ")");
  auto run = run_bounded({cmd}, opt_.hook_timeout, nullptr, true, hook_environment(phase));
  Status s = run ? Status::Ok() : run.status();
  if (s.ok() && !run->success()) s = Status(run->timed_out ? Errc::timeout : Errc::child_failed, flag + " " + run->describe());
  step(name, s.ok(), s.ok() ? flag + " succeeded" : s.message());
  return s;
}

}  // namespace pgm::pg
