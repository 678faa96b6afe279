#include "pgmigrate/migrate.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>

#include "common/errno_text.h"
#include "common/fd.h"
#include "common/process.h"
#include "common/random.h"
#include "common/units.h"
#include "journal/journal.h"
#include "migrate/run_steps.h"
#include "migrate/target.h"
#include "pg/connection.h"
#include "pg/conninfo.h"
#include "pg/debian_cluster.h"
#include "pg/server_tools.h"
#include "pg/slot.h"
#include "zfs/zfs.h"

namespace pgm::migrate {

using nlohmann::json;

namespace {

// The process running a migration, as the state file names it: pid, start time and boot, so
// that a reused pid (after a reboot, say) is neither "running" nor ever signalled.
journal::Record run_process(const State& s) {
  journal::Record r;
  r.pid = s.pid.value_or(0);
  r.pid_start = s.pid_start.value_or(0);
  r.boot_id = s.boot_id.value_or("");
  return r;
}

// Records a failed (or, cancelled, stopped) run and passes its error on.
Status record_failure(StateFile& state, const CancelToken& cancel, const Status& s, bool failed = false) {
  (void)state.update([&](State& st) {
    st.state = cancel.cancelled() && !failed ? "stopped" : "failed";
    st.error = s.message();
  });
  return s;
}

// A run's slot guard: started once the slot exists (step_final, or a run that finds it made),
// stopped before the switchover (the fence stops the primary it samples; the switchover is
// bounded by its own --timeout). A trip cancels the run's token, which ends the step under way.
class RunGuard {
 public:
  RunGuard(const Spec& spec, CancelToken& cancel, Observer& observer) : spec_(spec), cancel_(cancel), observer_(observer) {}
  RunGuard(const RunGuard&) = delete;
  RunGuard& operator=(const RunGuard&) = delete;
  ~RunGuard() { stop(); }

  Status start(const std::string& slot) {
    if (guard_ || (spec_.wal_warn == 0 && spec_.wal_limit == 0)) return Status::Ok();
    pg::GuardOptions g = guard_options(spec_);
    g.slot = slot;
    guard_ = std::make_unique<pg::SlotGuard>(g, cancel_, [this](pg::GuardEvent ev, const pg::SlotStatus&, const std::string& msg) {
      if (ev == pg::GuardEvent::warn) observer_.say("guard", "warning: " + msg);
      if (ev == pg::GuardEvent::unreachable) observer_.say("guard", "cannot sample the slot: " + msg + " (retrying)");
    });
    Status s = guard_->start();
    if (!s.ok()) {
      guard_.reset();
      if (s.code() == Errc::not_found)
        return Status(Errc::postgres, s.message() +
                                          "; the migration cannot continue without its slot: 'pgmigrate migrate abort' it and "
                                          "start again");
      return s;
    }
    observer_.say("guard", "guarding slot '" + slot + "'" +
                               (spec_.wal_warn > 0 ? ", warning at " + format_bytes(static_cast<double>(spec_.wal_warn)) : "") +
                               (spec_.wal_limit > 0 ? ", stopping at " + format_bytes(static_cast<double>(spec_.wal_limit)) : "") +
                               (spec_.drop_slot_on_limit ? " and dropping the slot" : ""));
    return Status::Ok();
  }
  void stop() {
    if (guard_) guard_->stop();
  }
  // The trip, if the guard tripped.
  Status tripped() const { return guard_ ? guard_->tripped() : Status::Ok(); }

 private:
  const Spec& spec_;
  CancelToken& cancel_;
  Observer& observer_;
  std::unique_ptr<pg::SlotGuard> guard_;
};

// Held while a command decides which migration it is and claims it: without it, two `migrate
// run`s started together both find no running owner (or no migration at all) and go on side
// by side, each creating slots and snapshots. The sections it guards are short local file work,
// so a plain blocking flock is enough.
Result<UniqueFd> lock_migrations(const std::string& dir) {
  const std::string path = dir + "/.lock";
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return Status(Errc::io, "opening " + path + ": " + errno_text(errno));
  int rc = 0;
  while ((rc = ::flock(fd.get(), LOCK_EX)) != 0 && errno == EINTR) {
  }
  if (rc != 0) return Status(Errc::io, "locking " + path + ": " + errno_text(errno));
  return fd;
}

// Before abort removes the target's copy of a migration that fell back: the server `primary`
// names must be the primary again (the fallback promoted it). Otherwise the target's server may
// hold the only copy of the latest writes.
Status confirm_fell_back(const State& st, const std::string& primary_conninfo) {
  auto c = pg::Connection::connect(primary_conninfo, "primary");
  if (!c) return c.status().context("checking that migration " + st.id + "'s old primary is the primary again");
  auto r = c->scalar("SELECT pg_is_in_recovery()");
  if (!r) return r.status();
  if (*r != "f")
    return Status(Errc::invalid_argument, "migration " + st.id + " fell back, but " + pg::describe_conninfo(primary_conninfo) +
                                              " is in recovery, not the primary: abort removes the target's copy only once the old "
                                              "primary takes writes again (pass it as --primary)");
  return Status::Ok();
}

}  // namespace

pg::GuardOptions guard_options(const Spec& spec) {
  return pg::GuardOptions{.primary_conninfo = spec.primary,
                          .slot = pg::kDefaultSlot,
                          .warn_bytes = spec.wal_warn,
                          .limit_bytes = spec.wal_limit,
                          .drop_on_limit = spec.drop_slot_on_limit,
                          .interval = spec.guard_interval};
}

bool runner_alive(const State& s) { return journal::process_alive(run_process(s)); }

std::string migrations_dir(const std::string& state_dir) { return journal::state_dir_path(state_dir) + "/migrations"; }

// Every migration's state. One that cannot be read stops the command: skipping it would let
// `run` start a second migration of the same source beside it (a second slot) and hide from
// `status` and `abort` a slot that may be holding WAL on the primary.
Result<std::vector<StateFile>> list(const std::string& state_dir_opt) {
  auto base = journal::choose_state_dir(state_dir_opt);
  if (!base) return base.status();
  std::vector<StateFile> out;
  for (const auto& path : journal::json_files(*base + "/migrations")) {
    auto m = StateFile::load(path);
    if (!m) {
      struct stat st {};
      if (::lstat(path.c_str(), &st) != 0 && errno == ENOENT) continue;  // removed since the listing (abort)
      return Status(Errc::corrupt, "migration state " + path + " is unreadable (" + m.status().message() +
                                       "): fix or move it aside; a migration's slot may still hold WAL on the primary "
                                       "(pgmigrate pg slot status / drop)");
    }
    out.push_back(std::move(*m));
  }
  std::sort(out.begin(), out.end(), [](const StateFile& a, const StateFile& b) {
    return a.read([](const State& s) { return s.started.value_or(0.0); }) < b.read([](const State& s) { return s.started.value_or(0.0); });
  });
  return out;
}

Result<StateFile> open(const Spec& spec) {
  const std::string& target_label = spec.target;
  auto base = journal::state_dir(spec.state_dir);
  if (!base) return base.status();
  const std::string dir = *base + "/migrations";
  PGM_RETURN_IF_ERROR(journal::make_private_dir(dir));
  auto lock = lock_migrations(dir);
  if (!lock) return lock.status();
  auto all = list(spec.state_dir);
  if (!all) return all.status();
  for (auto& m : *all) {
    const State st = m.snapshot();
    const std::string state = st.state.value_or("");
    const bool same = spec.id.empty() ? (st.source.value_or("") == spec.source && st.target.value_or("") == target_label &&
                                         state != "done" && state != "aborted")
                                      : st.id == spec.id;
    if (same) return std::move(m);
  }
  std::string id = spec.id;
  if (id.empty()) {
    auto random_id = random_hex(4);  // 8 hex digits
    if (!random_id) return random_id.status().context("a migration id");
    id = std::move(*random_id);
  }
  for (char ch : id)
    if (!std::isalnum(static_cast<unsigned char>(ch)) || std::isupper(static_cast<unsigned char>(ch)))
      return Status(Errc::invalid_argument, "--id: use lowercase letters and digits");
  State st;
  st.id = id;
  st.source = spec.source;
  st.target = target_label;
  st.slot = "pgmigrate_" + id;
  st.state = "new";
  st.started = journal::unix_now();
  StateFile m(dir + "/" + id + ".json", std::move(st));
  PGM_RETURN_IF_ERROR(m.save());
  return m;
}

Status claim(StateFile& state) {
  const std::string& path = state.path();
  auto lock = lock_migrations(path.substr(0, path.rfind('/')));
  if (!lock) return lock.status();
  // Decide on the file as it is now, not as this process read it: another run may have
  // claimed it, or finished steps, since.
  auto fresh = StateFile::load(path);
  if (!fresh) return fresh.status();
  state = std::move(*fresh);
  if (const State st = state.snapshot();
      st.pid.value_or(0) != static_cast<int>(::getpid()) && st.state == "running" && journal::process_alive(run_process(st)))
    return Status(Errc::exists, "migration " + st.id + " is already running (pid " + std::to_string(st.pid.value_or(0)) + ")");
  return state.update([](State& st) {
    st.pid = static_cast<int>(::getpid());
    st.pid_start = journal::process_start_ticks(static_cast<int>(::getpid()));
    st.boot_id = journal::boot_id();
    st.state = "running";
    st.error.reset();
  });
}

Result<Preflight> preflight(const Spec& spec, Remote& remote, CancelToken& cancel, const StateFile* state) {
  Context c{spec, remote, cancel, nullptr, nullptr};
  return run_preflight(c, state);
}

namespace {

std::string words(const std::vector<std::string>& w) {
  std::string s;
  for (const auto& x : w) s += (s.empty() ? "" : " ") + x;
  return s.empty() ? "none" : s;
}

}  // namespace

// Each send of a migration continues the stream of the one before (a raw increment into a
// dataset received decrypted fails at zfs receive), and the receive's properties must not
// change between sends. Until the bulk send begins nothing was sent, so a run may still change
// them (e.g. drop one its preflight refused). A state from before there were any counts as none.
Status record_zfs_flags(const Spec& spec, StateFile& state) {
  const State st = state.snapshot();
  if (st.step_status("bulk") == "pending") return state.update([&](State& s) { s.zfs_flags = spec.zfs_flags; });
  const std::vector<std::string> recorded = st.zfs_flags.value_or(std::vector<std::string>{});
  if (recorded == spec.zfs_flags) return Status::Ok();
  return Status(Errc::invalid_argument, "migration " + st.id + " was started with the zfs flags '" + words(recorded) + "', not '" +
                                            words(spec.zfs_flags) + "': run it again with the same ones");
}

Result<Outcome> run(const Spec& spec, Remote& remote, CancelToken& cancel, Observer& observer, StateFile& state) {
  Context c{spec, remote, cancel, &observer, nullptr};
  PGM_RETURN_IF_ERROR(record_zfs_flags(spec, state));           // a usage error: the migration did not fail
  state.change([](State& st) { st.steps["preflight"] = {}; });  // checked again on every run
  state.begin_step("preflight");
  auto p = run_preflight(c, &state);
  if (!p) return record_failure(state, cancel, p.status());
  for (const auto& n : p->notes) c.say("preflight", "note: " + n);
  state.change([&](State& st) {
    st.referenced = p->referenced;
    st.logical = p->logical;
  });
  state.end_step("preflight");

  RunGuard guard(spec, cancel, observer);
  c.guard_slot = [&] { return guard.start(state.slot()); };
  StepContext sc{c, state, *p};
  while (auto next = next_step(state.snapshot(), spec.run)) {
    if (next->action == Action::stop_ready) {
      (void)state.update([](State& st) {
        st.state = "ready";
        st.current_step = "switchover";
      });
      return Outcome::ready;
    }
    const std::string step(next->step);
    if (step == "switchover" || step == "cleanup") guard.stop();
    else if (state.read([](const State& st) { return st.slot_created.value_or(false); }))
      if (Status s = guard.start(state.slot()); !s.ok()) return record_failure(state, cancel, s, true);
    if (Status s = observer.before_step(step); !s.ok()) {
      if (!guard.tripped().ok()) return record_failure(state, cancel, guard.tripped(), true);
      return record_failure(state, cancel, s);
    }
    state.begin_step(step);
    const auto* entry = find_run_step(next->step);
    Status s = entry != nullptr ? entry->run(sc) : Status(Errc::internal, "no step " + step);
    // A trip ends the step through the cancel token: the trip is the reason, not the step's error.
    if (!guard.tripped().ok()) return record_failure(state, cancel, guard.tripped(), true);
    if (!s.ok()) return record_failure(state, cancel, s);
    state.end_step(step);
  }
  (void)state.update([](State& st) {
    st.state = "done";
    st.current_step.reset();
  });
  return Outcome::done;
}

Result<std::vector<std::string>> abort(const std::string& state_dir, const std::string& id, const std::string& primary_conninfo,
                                       const std::function<Result<AbortTarget>(const State&)>& target, CancelToken& cancel,
                                       const std::string& privilege_wrapper) {
  auto listed = list(state_dir);
  if (!listed) return listed.status();
  auto& all = *listed;
  StateFile* found = nullptr;
  for (auto& m : all)
    if (m.id() == id) found = &m;
  if (found == nullptr)
    return Status(Errc::not_found, "no migration '" + id + "' in " + migrations_dir(state_dir) + " (see pgmigrate migrate status)");
  const std::string path = found->path();
  State st = found->snapshot();  // this command's own copy: no other thread here
  auto refuse_switched = [&st](const std::string& when) {
    return Status(Errc::invalid_argument,
                  "migration " + st.id + " has switched over" + when + ": the target is the primary now; there is nothing to undo");
  };
  // A migration that fell back has a primary again where it began: what is left is the
  // target's copy, which abort removes like an unfinished migration's.
  const bool fell_back = st.state == "fallen-back";
  if (st.switched.value_or(false) && !fell_back) return refuse_switched("");
  if (fell_back) PGM_RETURN_IF_ERROR(confirm_fell_back(st, primary_conninfo));
  const std::string source = st.source.value_or("");
  auto c = target(st);
  if (!c) return c.status();
  std::vector<std::string> done;
  if (int pid = st.pid.value_or(0);
      pid > 0 && pid != static_cast<int>(::getpid()) && journal::process_alive(run_process(st)) && st.state == "running") {
    PGM_RETURN_IF_ERROR(journal::stop_process(run_process(st), std::chrono::seconds(60)));
    done.push_back("stopped the running migration (pid " + std::to_string(pid) + ")");
    // What we read came before the stop. A run stopped in its switchover records the promotion
    // ("switched") on its way out (promotion comes before the write check, the slot drop and
    // the post-hook), and a run in its standby step may have recorded target_pgdata since.
    auto fresh = StateFile::load(path);
    if (!fresh) return fresh.status().context("reading the state the stopped run left");
    st = fresh->snapshot();
    if (st.switched.value_or(false)) return refuse_switched(" while its run (pid " + std::to_string(pid) + ") was being stopped");
  }
  // The target: its standby, any receive still waiting, and the partial dataset. The far side
  // refuses, before it stops anything, when the server there is no standby, whatever this state
  // says: a switchover done by hand, or a run killed between promotion and recording it, leaves
  // no trace here.
  auto far = run_remote_json(
      *c->remote, abort_command(shell_quote, c->remote->remote_bin(), c->dataset, st.target_pgdata.value_or(""), fell_back), cancel);
  if (!far) return far.status().context("cleaning up the target");
  if ((*far).value("stopped_postgres", false)) done.push_back("stopped the standby on " + c->remote->host_label());
  for (const auto& cluster : (*far).value("removed_clusters", json::array()))
    done.push_back("removed Debian cluster " + cluster.get<std::string>() + " (" + pg::kDebianConfRoot + "/" + cluster.get<std::string>() +
                   ") on " + c->remote->host_label());
  for (const auto& s : (*far).value("aborted_receives", json::array())) done.push_back("aborted receive session " + s.get<std::string>());
  if ((*far).contains("destroyed") && (*far)["destroyed"].is_boolean() && (*far)["destroyed"].get<bool>())
    done.push_back("destroyed " + c->dataset + " on " + c->remote->host_label());
  // The primary: the slot (and after a fallback, the one the fallback streamed through, which
  // the promoted old primary may carry from the new one's data).
  {
    auto primary = pg::Connection::connect(primary_conninfo, "primary");
    if (!primary) return primary.status().context("dropping the slot");
    std::vector<std::string> slots{st.slot.value_or("")};
    if (fell_back) slots.push_back(st.slot.value_or("") + "_fallback");
    for (const auto& slot : slots) {
      auto existing = pg::slot_status(*primary, slot);
      if (existing) {
        PGM_RETURN_IF_ERROR(pg::drop_slot(*primary, slot));
        done.push_back("dropped slot '" + slot + "' on the primary");
      } else if (existing.status().code() != Errc::not_found) {
        return existing.status();
      }
    }
  }
  // The source: holds and the migration's snapshots (never anything else).
  const zfs::Zfs zfs = zfs::Zfs::with_wrapper(privilege_wrapper);
  for (const auto& h : st.holds)
    if (zfs.release(st.tag(), h).ok()) done.push_back("released the hold on " + h);
  for (const auto& full : migration_snapshots(zfs, st, source)) {
    (void)zfs.release(st.tag(), full);  // a hold taken just before a crash is not in the state yet
    PGM_RETURN_IF_ERROR(zfs.destroy(full));
    done.push_back("destroyed " + full);
  }
  ::unlink(path.c_str());
  done.push_back("removed " + path);
  return done;
}

namespace {

// Migration `id`'s state, or Errc::not_found in one line.
Result<StateFile> find_migration(const std::string& state_dir, const std::string& id) {
  auto listed = list(state_dir);
  if (!listed) return listed.status();
  for (auto& m : *listed)
    if (m.id() == id) return std::move(m);
  return Status(Errc::not_found, "no migration '" + id + "' in " + migrations_dir(state_dir) + " (see pgmigrate migrate status)");
}

}  // namespace

Result<std::vector<std::string>> finish(const std::string& state_dir, const std::string& id, const std::string& new_primary,
                                        const std::string& bindir, const std::function<Result<AbortTarget>(const State&)>& target,
                                        CancelToken& cancel, const std::string& privilege_wrapper) {
  auto found = find_migration(state_dir, id);
  if (!found) return found.status();
  const State st = found->snapshot();
  if (st.state == "fallen-back")
    return Status(Errc::invalid_argument, "migration " + id +
                                              " has no fallback window open: it fell back to its old primary; end it with 'pgmigrate "
                                              "migrate abort " +
                                              id + " --primary CONNINFO' (removes the target's copy, the slots and the snapshots)");
  if (!st.fallback_slot || !st.fallback_pgdata)
    return Status(Errc::invalid_argument, "migration " + id +
                                              " has no fallback window open: its switchover did not keep the old primary as a standby "
                                              "(migrate run --keep-old-as-standby), or it fell back, or migrate finish closed it");
  std::vector<std::string> done;
  // The old server: still the new primary's standby, or already stopped. A primary means a
  // fallback happened: the window is not this command's to end.
  auto dir = pg::inspect_data_dir(*st.fallback_pgdata, privilege_wrapper);
  if (!dir) return dir.status().context("the old primary's data directory");
  auto cd = pg::read_controldata(*dir, bindir);
  if (!cd) return cd.status();
  if (cd->state == "in production" || cd->state == "shut down")
    return Status(Errc::invalid_argument, "the old primary in " + dir->path + " is '" + cd->state +
                                              "', not a standby: after a fallback it is the primary again; finish refuses to stop it "
                                              "(drop slot '" +
                                              *st.fallback_slot + "' and the snapshots by hand if the migration is over)");
  if (pg::read_postmaster_pid(dir->path)) {
    PGM_RETURN_IF_ERROR(pg::pg_ctl_stop(*dir, bindir, std::chrono::seconds(60), &cancel));
    done.push_back("stopped the old primary's server (the standby in " + dir->path + ")");
  }
  {
    const std::string conninfo = new_primary.empty() ? st.fallback_new_primary.value_or("") : new_primary;
    auto c = pg::Connection::connect(conninfo, "new primary");
    if (!c) return c.status().context("dropping the fallback slot (pass --standby CONNINFO)");
    Status s = pg::drop_slot(*c, *st.fallback_slot);
    if (!s.ok() && s.code() != Errc::not_found) return s;
    done.push_back("dropped slot '" + *st.fallback_slot + "' on the new primary");
  }
  auto t = target(st);
  if (!t) return t.status();
  const zfs::Zfs zfs = zfs::Zfs::with_wrapper(privilege_wrapper);
  for (const auto& full : migration_snapshots(zfs, st, st.source.value_or(""))) {
    (void)zfs.release(st.tag(), full);
    PGM_RETURN_IF_ERROR(zfs.destroy(full));
    done.push_back("destroyed " + full);
  }
  auto far = run_remote_json(*t->remote, destroy_snapshots_command(shell_quote, t->remote->remote_bin(), t->dataset, st.snap("")), cancel);
  if (!far) return far.status().context("destroying the target's migration snapshots");
  if ((*far).contains("destroyed") && (*far)["destroyed"].is_array())
    for (const auto& s : (*far)["destroyed"]) done.push_back("destroyed " + s.get<std::string>() + " on " + t->remote->host_label());
  PGM_RETURN_IF_ERROR(found->update([](State& s) {
    s.fallback_slot.reset();
    s.fallback_pgdata.reset();
    s.fallback_new_primary.reset();
  }));
  done.push_back("the fallback window of migration " + id + " is closed");
  return done;
}

Result<FarLog> far_log(const std::string& state_dir, const std::string& id, std::uint64_t tail,
                       const std::function<Result<AbortTarget>(const State&)>& target, CancelToken& cancel) {
  auto found = find_migration(state_dir, id);
  if (!found) return found.status();
  auto t = target(found->snapshot());
  if (!t) return t.status();
  auto far = run_remote_json(*t->remote, far_log_command(shell_quote, t->remote->remote_bin(), t->dataset, tail), cancel);
  if (!far) return far.status().context("reading the far half's log on " + t->remote->host_label());
  return FarLog{t->remote->host_label(), (*far).value("far_log_path", std::string()), (*far).value("far_log", std::string()),
                (*far).value("far_log_size", std::uint64_t{0})};
}

Result<std::string> fallback(const std::string& state_dir, const std::string& id, const FallbackSpec& spec,
                             const std::function<Result<AbortTarget>(const State&)>& target, CancelToken& cancel) {
  auto found = find_migration(state_dir, id);
  if (!found) return found.status();
  StateFile& m = *found;
  const State st = m.snapshot();
  if (!st.fallback_slot || !st.target_pgdata)
    return Status(Errc::invalid_argument,
                  "migration " + id + " has no fallback window open: nothing follows its new primary to fall back to");
  auto t = target(st);
  if (!t) return t.status();
  const auto secs = std::max<long long>(1, std::chrono::duration_cast<std::chrono::seconds>(spec.timeout).count());
  const std::string cmd = shell_quote(t->remote->remote_bin()) + " pg switchover --slot " + shell_quote(*st.fallback_slot) +
                          " --primary-pgdata " + shell_quote(*st.target_pgdata) + " --timeout " + std::to_string(secs) +
                          "s --hook-direction fallback";
  const std::string from_target = spec.new_primary.empty() ? st.fallback_new_primary.value_or("") : spec.new_primary;
  Secrets secrets{{"--primary", from_target}, {"--standby", spec.old_primary}};
  if (!spec.pre_fence_hook.empty()) secrets.emplace_back("--pre-fence-hook", spec.pre_fence_hook);
  if (!spec.post_hook.empty()) secrets.emplace_back("--post-hook", spec.post_hook);
  auto out = t->remote->run(cmd, secrets, cancel);
  if (!out) return out.status().context("falling back on " + t->remote->host_label());
  PGM_RETURN_IF_ERROR(m.update([](State& s) {
    s.state = "fallen-back";
    s.fallback_slot.reset();
    s.fallback_pgdata.reset();
    s.fallback_new_primary.reset();
  }));
  return *out;
}

}  // namespace pgm::migrate
