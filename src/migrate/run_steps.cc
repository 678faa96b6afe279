#include "migrate/run_steps.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <optional>

#include "common/process.h"
#include "common/units.h"
#include "journal/journal.h"
#include "migrate/sampler.h"
#include "migrate/state_check.h"
#include "migrate/target.h"
#include "migrate/tree.h"
#include "pg/connection.h"
#include "pg/conninfo.h"
#include "pg/debian_cluster.h"
#include "pg/lag.h"
#include "pg/layout_check.h"
#include "pg/replication_features.h"
#include "pg/slot.h"
#include "pg/switchover.h"
#include "zfs/zfs.h"

namespace pgm::migrate {

using nlohmann::json;

namespace {

// The lag wait's timeout error names the setting it came from (the caller words it as its flag).
Status name_catchup_timeout(const Status& s) {
  const std::string& msg = s.message();
  const std::string setting = pg::kLagTimeoutSetting;
  const std::size_t at = msg.find(setting);
  if (at == std::string::npos) return s;
  return Status(s.code(), msg.substr(0, at) + kCatchupTimeoutSetting + msg.substr(at + setting.size()));
}

}  // namespace

Result<json> run_remote_json(Remote& remote, const std::string& command, CancelToken& cancel, const Secrets& secrets) {
  auto out = remote.run(command, secrets, cancel);
  if (!out) return out.status();
  json j = json::parse(*out, nullptr, false);
  if (j.is_discarded()) return Status(Errc::protocol, "unexpected answer from " + remote.host_label() + ": " + *out);
  // Every key read below has the type it is read as (a far pgmigrate of another version must
  // not make a lookup throw).
  if (Status s = check_target_reply(j); !s.ok())
    return Status(Errc::protocol, "unexpected answer from " + remote.host_label() + ": " + s.message());
  return j;
}

// The migration's own snapshots of `dataset` (named pgmigrate-<id>-*): nothing else is ever
// released or destroyed.
// Those of its descendants too: a cluster on a tree of datasets is snapshotted with -r.
std::vector<std::string> migration_snapshots(const zfs::Zfs& zfs, const State& m, const std::string& dataset) {
  std::vector<std::string> out;
  auto tree = zfs.filesystems(dataset);
  if (!tree) return out;
  for (const auto& fs : *tree)
    if (auto all = zfs.snapshots(fs))
      for (const auto& s : *all)
        if (s.rfind(fs + "@" + m.snap(""), 0) == 0) out.push_back(s);
  return out;
}

namespace {

// A Debian primary: its configuration directory as the bundle the target's `pg standby
// --debian-cluster` reads, and the cluster that will make there, rendered here for `plan`.
Status plan_debian(Context& c, pg::Connection& primary, Preflight& p, bool standby_started) {
  auto config_file = primary.scalar("SHOW config_file");
  if (!config_file) return config_file.status();
  const auto source = pg::cluster_from_config_file(*config_file);
  if (!source) {
    if (!c.spec.target_cluster.empty())
      return Status(Errc::invalid_argument,
                    "--target-cluster: the primary is no Debian cluster (its config_file is " + *config_file + "); drop --target-cluster");
    return Status::Ok();
  }
  DebianPlan d;
  d.source = *source;
  d.target = *source;
  if (!c.spec.target_cluster.empty()) {
    auto id = pg::parse_cluster_id(c.spec.target_cluster);
    if (!id) return id.status().context("--target-cluster");
    d.target = *id;
  }
  if (standby_started) {
    // The target cluster exists: what is left (the fence) needs only the cluster's name, and a
    // file that appeared in the source's configuration since (an editor's swap file, in the
    // maintenance window) must not stop the switchover.
    p.debian = std::move(d);
    return Status::Ok();
  }
  auto bundle = pg::collect_bundle(*source, pg::kDebianConfRoot, c.spec.privilege_wrapper);
  if (!bundle) return bundle.status().context("the primary is Debian cluster " + source->str());
  d.bundle_json = pg::bundle_to_json(*bundle);
  // What the target will read, checked here so that plan refuses what the standby step would.
  auto checked = pg::bundle_from_json(d.bundle_json);
  if (!checked) return checked.status().context("the config bundle of " + source->str());
  const std::size_t line = nlohmann::json(d.bundle_json).dump().size() + 4096;  // + the conninfo beside it
  if (line > kMaxSecretsLine)
    return Status(Errc::invalid_argument, "the configuration of " + source->str() + " is too large to send (" + std::to_string(line >> 10) +
                                              " KiB as JSON, at most " + std::to_string(kMaxSecretsLine >> 10) +
                                              " KiB): move large files out of " + bundle->conf_dir);
  // The layout check's "lies outside the data directory" for files of the configuration
  // directory: the bundle carries them now.
  std::erase_if(p.notes, [&](const std::string& n) {
    return n.rfind("config_file " + bundle->conf_dir + "/", 0) == 0 || n.rfind("hba_file " + bundle->conf_dir + "/", 0) == 0;
  });
  for (const auto& n : bundle->notes) p.notes.push_back(n);
  // The received data directory: the target dataset's mountpoint, or, before it exists, where
  // zfs will mount it (below its pool's mountpoint, the default inheritance).
  std::string mountpoint = p.target.value("mountpoint", std::string());
  if (mountpoint.empty() || mountpoint == "none" || mountpoint == "legacy") {
    const std::size_t slash = c.spec.target_dataset.find('/');
    std::string pool_mp = p.target.value("pool_mountpoint", std::string());
    if (pool_mp.empty() || pool_mp.front() != '/') pool_mp = "/" + c.spec.target_dataset.substr(0, slash);  // none, legacy: zfs's default
    mountpoint = (pool_mp == "/" ? "" : pool_mp) + (slash == std::string::npos ? "" : c.spec.target_dataset.substr(slash));
  }
  d.target_pgdata = p.relative_pgdata.empty() ? mountpoint : mountpoint + "/" + p.relative_pgdata;
  pg::TargetCluster t;
  t.id = d.target;
  t.pgdata = d.target_pgdata;
  if (c.spec.standby_port > 0) t.port = c.spec.standby_port;
  auto rendered = pg::render_cluster_config(*checked, t, p.pg_major);
  if (!rendered) return rendered.status().context("the target cluster " + d.target.str());
  d.rendered = std::move(*rendered);
  p.debian = std::move(d);
  return Status::Ok();
}

}  // namespace

namespace {
Status check_fence(const Context& c, const Preflight& p);  // with the switchover step, below

// What else replicates from the primary: said in plan, and logical slots refused before a run
// that would switch over (their consumers would stop silently), not at the switchover itself.
Status check_replication(const Context& c, pg::Connection& primary, const std::string& slot, Preflight& p) {
  auto features = pg::inspect_replication(primary);
  if (!features) return features.status();
  const std::string standby_name = !slot.empty() ? slot : "pgmigrate_" + (c.spec.id.empty() ? std::string("<id>") : c.spec.id);
  for (auto& line : pg::describe_replication(*features, standby_name)) p.notes.push_back(std::move(line));
  if (c.spec.run.want_switchover)
    if (std::string why = pg::logical_slots_refusal(*features, c.spec.abandon_logical_slots, kAbandonLogicalSlotsSetting); !why.empty())
      return Status(Errc::invalid_argument, why);
  return Status::Ok();
}
}  // namespace

namespace {

// The layout check's notes, worded for migrate, which guards its own slot when asked.
void add_layout_notes(const Spec& spec, const std::vector<std::string>& notes, std::vector<std::string>& out) {
  for (const auto& n : notes) {
    if (n.rfind("the cluster spans datasets", 0) == 0) continue;  // migrate snapshots the tree with -r itself (run_preflight says so)
    if (n.rfind("max_slot_wal_keep_size is -1", 0) != 0) {
      out.push_back(n);
    } else if (spec.wal_limit == 0) {
      out.push_back(
          "max_slot_wal_keep_size is -1 (unlimited): the migration's slot can fill the primary's disk; give 'migrate run' --wal-limit "
          "SIZE, and keep 'pgmigrate migrate watch ID --wal-limit SIZE' running between runs (docs/runbook.md)");
    }
  }
}

// The pass-through flags against what each side's zfs offers: the send's against this host's
// usage, the receive's against the target's probe. The refusals are send_args'/recv_args' own
// lines, which name the flag to drop.
Status check_zfs_flags(const Context& c, const zfs::Zfs& zfs, const nlohmann::json& target) {
  if (!c.spec.zfs_flags.empty()) {
    auto caps = zfs.capabilities();
    if (!caps) return caps.status();
    auto send = zfs::send_args(c.spec.source + "@pgmigrate-probe", c.spec.send_flags, *caps);
    if (!send) return send.status().context("on this host (the source)");
  }
  zfs::Capabilities far;
  far.recv_no_mount = target.value("recv_no_mount", false);
  far.recv_set_props = target.value("recv_set_props", false);
  far.recv_exclude_props = target.value("recv_exclude_props", false);
  auto recv = zfs::recv_args(c.spec.target_dataset, c.spec.recv_flags, far);
  if (!recv) return recv.status().context("on " + c.remote.host_label() + " (the target)");
  return Status::Ok();
}

}  // namespace

Result<Preflight> run_preflight(Context& c, const StateFile* m) {
  Preflight p;
  const zfs::Zfs zfs = local_zfs(c.spec);
  PGM_RETURN_IF_ERROR(read_source_tree(zfs, c.spec.source, p));
  auto mp = zfs.get("mountpoint", c.spec.source);
  if (!mp) return mp.status();
  p.mountpoint = *mp;

  auto primary = pg::Connection::connect(c.spec.primary, "primary");
  if (!primary) return primary.status();
  p.pg_major = primary->server_major();
  auto dd = primary->scalar("SHOW data_directory");
  if (!dd) return dd.status();
  p.data_directory = *dd;
  auto layout = pg::check_layout(*primary, p.datasets, c.spec.privilege_wrapper);
  if (!layout) return layout.status();
  if (!layout->ok()) {
    std::string all;
    for (const auto& prob : layout->problems) all += (all.empty() ? "" : "; ") + prob;
    return Status(Errc::invalid_argument,
                  "refusing to migrate: a snapshot of '" + c.spec.source + "' would not hold a consistent database: " + all);
  }
  add_layout_notes(c.spec, layout->notes, p.notes);
  if (p.datasets.size() > 1) {
    std::string list;
    for (const auto& fs : p.datasets) list += (list.empty() ? "" : ", ") + fs;
    p.notes.push_back("the source is a tree of " + std::to_string(p.datasets.size()) + " datasets (" + list +
                      "): every snapshot is one 'zfs snapshot -r' of " + c.spec.source +
                      " (atomic), every send moves each dataset into the same place under the target, and the standby's pg_wal and "
                      "pg_tblspc links are pointed at the received mountpoints");
  }
  if (p.data_directory.rfind(p.mountpoint + "/", 0) == 0) p.relative_pgdata = p.data_directory.substr(p.mountpoint.size() + 1);
  else if (p.data_directory == p.mountpoint) p.relative_pgdata = "";
  else return Status(Errc::invalid_argument, "the data directory " + p.data_directory + " is not under " + p.mountpoint);

  auto wal_level = primary->scalar("SHOW wal_level");
  if (!wal_level) return wal_level.status();
  if (*wal_level != "replica" && *wal_level != "logical")
    return Status(Errc::invalid_argument, "wal_level is '" + *wal_level + "' on the primary: set it to replica (needs a restart) first");
  const std::string slot = m ? m->slot() : std::string();
  auto free_slots = primary->scalar(
      "SELECT current_setting('max_replication_slots')::int - (SELECT count(*) FROM pg_replication_slots WHERE slot_name <> $1)", {slot});
  if (!free_slots) return free_slots.status();
  if (std::atoi(free_slots->c_str()) < 1)
    return Status(Errc::invalid_argument, "no free replication slot on the primary (max_replication_slots)");
  auto free_senders = primary->scalar("SELECT current_setting('max_wal_senders')::int - (SELECT count(*) FROM pg_stat_replication)");
  if (!free_senders) return free_senders.status();
  if (std::atoi(free_senders->c_str()) < 1) return Status(Errc::invalid_argument, "no free WAL sender on the primary (max_wal_senders)");
  PGM_RETURN_IF_ERROR(check_replication(c, *primary, slot, p));

  auto probe =
      run_remote_json(c.remote, probe_command(shell_quote, c.remote.remote_bin(), c.spec.target_dataset, p.pg_major, c.spec.bindir),
                      c.cancel, {{"--replication", c.spec.standby_primary}});
  if (!probe) return probe.status().context("checking the target " + c.remote.host_label());
  p.target = *probe;
  const bool started = m && m->step_status("bulk") != "pending";
  if (!p.target.value("pool_exists", false))
    return Status(Errc::not_found, "target pool of '" + c.spec.target_dataset + "' does not exist on " + c.remote.host_label());
  if (p.target.value("dataset_exists", false) && !started)
    return Status(Errc::exists,
                  "target '" + c.spec.target_dataset + "' already exists on " + c.remote.host_label() + ": migrate into a new dataset");
  const std::uint64_t avail = p.target.value("pool_available", std::uint64_t{0});
  if (!started && avail < p.referenced)
    return Status(Errc::no_space, "the target pool has " + format_bytes(static_cast<double>(avail)) + " available, the source references " +
                                      format_bytes(static_cast<double>(p.referenced)));
  if (!started && avail < p.logical)
    p.notes.push_back("the target pool has " + format_bytes(static_cast<double>(avail)) +
                      " available: enough for the data as stored here (" + format_bytes(static_cast<double>(p.referenced)) +
                      "), not for its logical size (" + format_bytes(static_cast<double>(p.logical)) +
                      "); it fits only if the target compresses as well as the source");
  if (!p.target.value("pg_major_ok", false))
    return Status(Errc::not_found, "Postgres " + std::to_string(p.pg_major) + " server binaries were not found on " +
                                       c.remote.host_label() + " (looked for " + p.target.value("pg_ctl", std::string("pg_ctl")) + ")");
  if (p.target.value("replication", std::string()) != "ok")
    return Status(Errc::postgres, c.remote.host_label() + " cannot open a replication connection to the primary: " +
                                      p.target.value("replication", std::string("unknown")));
  PGM_RETURN_IF_ERROR(check_zfs_flags(c, zfs, p.target));
  if (c.remote.uses_tls()) PGM_RETURN_IF_ERROR(c.remote.probe_tls(c.spec.target_dataset, c.cancel));
  // --bulk-via: both ends must reach the store now, not hours into the bulk step.
  if (!c.spec.bulk_via.empty() && (m == nullptr || m->step_status("bulk") != "done"))
    PGM_RETURN_IF_ERROR(c.remote.probe_objects(c.spec.bulk_via, c.cancel).context("--bulk-via"));
  const bool standby_started = m != nullptr && m->read([](const State& s) { return s.standby_started.value_or(false); });
  if (Status s = plan_debian(c, *primary, p, standby_started); !s.ok()) return s;
  // The fence is checked now, not at the switchover after days of copying (the Debian primary's
  // pg_ctlcluster is known only from plan_debian).
  if (c.spec.run.want_switchover || c.spec.keep_old_as_standby || !c.spec.primary_pgdata.empty() || !c.spec.stop_cmd.empty() ||
      !c.spec.start_cmd.empty())
    PGM_RETURN_IF_ERROR(check_fence(c, p));
  if (!p.target.value("recv_resumable", false))
    p.notes.push_back(
        "zfs on " + c.remote.host_label() +
        " cannot keep an interrupted receive (no 'zfs receive -s'): a restart of the target during a send restarts that send; "
        "a restart of this side resumes");
  return p;
}

namespace {

// Samples the slot's retained WAL into the state while `fn` runs; keeps the peak.
template <typename Fn>
Status with_slot_sampling(Context& c, StateFile& m, Fn fn) {
  // The sampler's own connection, made on its thread at its first sample: none, no samples.
  std::optional<Result<pg::Connection>> conn;
  const std::string slot = m.slot();
  SlotSampler sampler(m, [&]() -> std::optional<std::uint64_t> {
    if (!conn) conn = pg::Connection::connect(c.spec.primary, "primary");
    if (!*conn) return std::nullopt;
    auto st = pg::slot_status(**conn, slot);
    return st ? std::optional<std::uint64_t>(st->retained_bytes) : std::nullopt;
  });
  Status s = fn();
  (void)sampler.finish();
  return s;
}

std::string last_sent(const StateFile& m) {
  return m.read([](const State& s) { return s.last_sent.value_or(""); });
}

bool in_recovery(const std::string& conninfo, bool* reachable) {
  auto c = pg::Connection::connect(conninfo, "standby");
  *reachable = static_cast<bool>(c);
  if (!c) return false;
  auto r = c->scalar("SELECT pg_is_in_recovery()");
  return r && *r == "t";
}

Status step_bulk(Context& c, StateFile& m, const Preflight& p) {
  const std::string snap = c.spec.source + "@" + m.snap("base");
  PGM_RETURN_IF_ERROR(ensure_held_snapshot(local_zfs(c.spec), m, c.spec.source, p.datasets, m.snap("base")));
  const std::string via = c.spec.bulk_via.empty() ? "" : c.spec.bulk_via + "/" + m.snap("base");
  PGM_RETURN_IF_ERROR(send_step(c, m, p.datasets, "bulk", m.snap("base"), "", nullptr, via));
  m.change([&](State& s) { s.last_sent = snap; });
  return Status::Ok();
}

Status step_rounds(Context& c, StateFile& m, const Preflight& p) {
  const std::uint64_t delta = c.spec.delta_target;
  auto [done_rounds, last_round_bytes] = m.read([](const State& s) {
    return std::pair{static_cast<unsigned>(s.rounds_done.value_or(0)), s.last_round_bytes.value_or(UINT64_MAX)};
  });
  while (done_rounds < c.spec.rounds) {
    if (done_rounds > 0 && last_round_bytes < delta) break;
    const unsigned r = done_rounds + 1;
    const std::string name = m.snap("r" + std::to_string(r));
    const std::string snap = c.spec.source + "@" + name;
    PGM_RETURN_IF_ERROR(ensure_held_snapshot(local_zfs(c.spec), m, c.spec.source, p.datasets, name));
    std::uint64_t bytes = 0;
    PGM_RETURN_IF_ERROR(send_step(c, m, p.datasets, "rounds", name, short_name(last_sent(m)), &bytes));
    done_rounds = r;
    last_round_bytes = bytes;
    PGM_RETURN_IF_ERROR(m.update([&](State& s) {
      s.last_sent = snap;
      s.rounds_done = r;
      s.last_round_bytes = bytes;
    }));
    c.say("rounds", "round " + std::to_string(r) + " moved " + format_bytes(static_cast<double>(bytes)));
    if (bytes < delta) break;
  }
  return Status::Ok();
}

Status step_final(Context& c, StateFile& m, const Preflight& p) {
  const std::string snap = c.spec.source + "@" + m.snap("final");
  const zfs::Zfs zfs = local_zfs(c.spec);
  auto snap_exists = zfs.exists(snap);
  if (!snap_exists) return snap_exists.status();
  if (!*snap_exists) {
    // A checkpoint, then the slot, then the snapshot. A new physical slot reserves WAL from
    // the last checkpoint's redo point, so checkpointing first keeps the slot from holding
    // everything written since the previous checkpoint (possibly since before the bulk copy).
    // The standby replays from the redo point of the last checkpoint before the snapshot,
    // which is this one or a later one: never before what the slot holds.
    auto primary = pg::Connection::connect(c.spec.primary, "primary");
    if (!primary) return primary.status();
    auto cp = primary->exec("CHECKPOINT");
    if (!cp) return cp.status();
    auto existing = pg::slot_status(*primary, m.slot());
    if (!existing) {
      if (existing.status().code() != Errc::not_found) return existing.status();
      c.say("final", "creating replication slot '" + m.slot() + "' on the primary");
      auto created = pg::create_slot(*primary, m.slot());
      if (!created) return created.status();
    }
    PGM_RETURN_IF_ERROR(m.update([](State& s) { s.slot_created = true; }));
  }
  // Guarded from now on: the send below and the catch-up are when the slot retains WAL.
  if (c.guard_slot) PGM_RETURN_IF_ERROR(c.guard_slot());
  PGM_RETURN_IF_ERROR(ensure_held_snapshot(local_zfs(c.spec), m, c.spec.source, p.datasets, m.snap("final")));
  Status sent = with_slot_sampling(c, m, [&] {
    Status s = send_step(c, m, p.datasets, "final", m.snap("final"), short_name(last_sent(m)), nullptr);
    if (s.ok()) m.change([&](State& st) { st.last_sent = snap; });
    return s;
  });
  if (sent.ok()) {
    const State st = m.snapshot();
    c.say("final", "slot '" + st.slot.value_or("") + "' retains " + format_bytes(static_cast<double>(st.slot_retained.value_or(0))) +
                       " (peak " + format_bytes(static_cast<double>(st.peak_retained.value_or(0))) + ")");
  }
  return sent;
}

Status step_standby(Context& c, StateFile& m, const Preflight& p) {
  bool reachable = false;
  if (in_recovery(c.spec.standby_conninfo, &reachable)) {
    c.say("standby", "the standby already runs (" + pg::describe_conninfo(c.spec.standby_conninfo) + ")");
    return Status::Ok();
  }
  auto probe = run_remote_json(c.remote, probe_command(shell_quote, c.remote.remote_bin(), c.spec.target_dataset), c.cancel);
  if (!probe) return probe.status();
  const std::string mountpoint = (*probe).value("mountpoint", std::string());
  if (mountpoint.empty() || mountpoint == "none" || mountpoint == "legacy")
    return Status(Errc::invalid_argument,
                  "the target dataset '" + c.spec.target_dataset + "' is not mounted (mountpoint " + mountpoint + ")");
  const std::string pgdata = p.relative_pgdata.empty() ? mountpoint : mountpoint + "/" + p.relative_pgdata;
  PGM_RETURN_IF_ERROR(m.update([&](State& s) { s.target_pgdata = pgdata; }));
  c.say("standby", "starting a standby in " + pgdata + " on " + c.remote.host_label() + ", port " + std::to_string(c.spec.standby_port));
  std::string cmd = shell_quote(c.remote.remote_bin()) + " pg standby --pgdata " + shell_quote(pgdata) + " --slot " +
                    shell_quote(m.slot()) + " --port " + std::to_string(c.spec.standby_port) + " --start --timeout 120s";
  if (!c.spec.bindir.empty()) cmd += " --pg-bindir " + shell_quote(c.spec.bindir);
  if (p.datasets.size() > 1) PGM_RETURN_IF_ERROR(mount_target_tree(c));
  auto relinks = relink_args(c, p.datasets, mountpoint);
  if (!relinks) return relinks.status();
  cmd += *relinks;
  Secrets secrets{{"--primary", c.spec.standby_primary}, {"--standby", c.spec.standby_conninfo}};
  if (p.debian) {
    // The far side writes /etc/postgresql/VER/NAME from the bundle (replacing its own earlier
    // one on a re-run, refusing another cluster's) and starts it with pg_ctlcluster.
    cmd += " --debian-cluster " + shell_quote(p.debian->target.str());
    secrets.emplace_back("--config-bundle-json", p.debian->bundle_json);
  }
  auto out = c.remote.run(cmd, secrets, c.cancel);
  if (!out) return out.status().context("starting the standby");
  // What the far `pg standby` did (the cluster it created, the paths it rewrote).
  for (std::size_t at = 0; at < out->size();) {
    const std::size_t nl = std::min(out->find('\n', at), out->size());
    if (nl > at) c.say("standby", out->substr(at, nl - at));
    at = nl + 1;
  }
  return m.update([](State& s) { s.standby_started = true; });
}

Status step_catchup(Context& c, StateFile& m) {
  auto primary = pg::Connection::connect(c.spec.primary, "primary");
  if (!primary) return primary.status();
  auto standby = pg::Connection::connect(c.spec.standby_conninfo, "standby");
  if (!standby) return standby.status();
  const std::uint64_t bound = c.spec.max_lag;
  c.say("catchup", "waiting until the standby replays within " + format_bytes(static_cast<double>(bound)) + " of the primary");
  auto last_line = std::chrono::steady_clock::now();
  return with_slot_sampling(c, m, [&] {
    auto r = pg::wait_for_lag(*primary, *standby, m.slot(), bound, c.spec.catchup_timeout, c.cancel, [&](const pg::LagReport& lag) {
      (void)m.record_lag(lag.replay_bytes());
      // A line every few seconds: the lag and what the slot holds meanwhile.
      if (std::chrono::steady_clock::now() - last_line >= std::chrono::seconds(5)) {
        last_line = std::chrono::steady_clock::now();
        c.say("catchup", "replay lag " + format_bytes(static_cast<double>(lag.replay_bytes())) + ", slot retains " +
                             format_bytes(static_cast<double>(m.read([](const State& s) { return s.slot_retained.value_or(0); }))));
      }
    });
    if (!r) return name_catchup_timeout(r.status());
    m.change([&](State& s) { s.lag_bytes = r->replay_bytes(); });
    return Status::Ok();
  });
}

// The switchover's options, from the spec and what the preflight found.
pg::SwitchoverOptions switchover_options(const Context& c, const std::string& slot, const Preflight& p) {
  pg::SwitchoverOptions o;
  o.primary_conninfo = c.spec.primary;
  o.standby_conninfo = c.spec.standby_conninfo;
  o.slot = slot;
  o.fence = c.spec.fence;
  o.primary_pgdata = c.spec.primary_pgdata;
  // A Debian primary is stopped (and, on rollback, started) with pg_ctlcluster: named here when
  // no other way was given; --primary-pgdata finds the cluster itself (its config_file).
  if (p.debian && o.fence == pg::Fence::stop && c.spec.primary_pgdata.empty() && c.spec.stop_cmd.empty())
    o.primary_cluster = p.debian->source.str();
  o.stop_cmd = c.spec.stop_cmd;
  o.start_cmd = c.spec.start_cmd;
  o.bindir = c.spec.bindir;
  o.privilege_wrapper = c.spec.privilege_wrapper;
  o.max_lag = c.spec.max_lag;
  o.timeout = c.spec.switch_timeout;
  o.keep_old_as_standby = c.spec.keep_old_as_standby;
  o.fallback_slot = slot + "_fallback";
  o.pre_fence_hook = c.spec.pre_fence_hook;
  o.post_hook = c.spec.post_hook;
  return o;
}

// The fence settings alone, as the switchover will check them (pg::Switchover::validate), worded
// for migrate (which finds a Debian primary's pg_ctlcluster itself).
Status check_fence(const Context& c, const Preflight& p) {
  const auto o = switchover_options(c, pg::kDefaultSlot, p);
  if (o.fence == pg::Fence::stop) {
    const int ways =
        static_cast<int>(!o.primary_pgdata.empty()) + static_cast<int>(!o.stop_cmd.empty()) + static_cast<int>(!o.primary_cluster.empty());
    if (ways == 0)
      return Status(Errc::invalid_argument,
                    "the switchover's clean-stop fence needs a way to stop the old primary: --primary-pgdata DIR (it runs on this "
                    "host), or --stop-cmd CMD with --start-cmd CMD; or use --fence connections");
    if (ways > 1) return Status(Errc::invalid_argument, "give one way to stop the old primary: --primary-pgdata or --stop-cmd, not both");
    if (!o.stop_cmd.empty() && o.start_cmd.empty())
      return Status(Errc::invalid_argument, "--stop-cmd needs --start-cmd too, so that a failed switchover can restart the old primary");
    // A normal user reaches the old primary's data directory (0700) as its owner through the
    // wrapper: that sudo allows it is found out now, before anything is made, not at the fence.
    if (!o.primary_pgdata.empty() && !o.privilege_wrapper.empty())
      if (auto dir = pg::inspect_data_dir(o.primary_pgdata, o.privilege_wrapper); !dir) return dir.status().context("--primary-pgdata");
  }
  if (o.keep_old_as_standby && (o.fence != pg::Fence::stop || (o.primary_pgdata.empty() && o.primary_cluster.empty())))
    return Status(Errc::invalid_argument,
                  "--keep-old-as-standby needs the clean-stop fence of an old primary on this host (--fence stop with --primary-pgdata, "
                  "or a Debian primary): pgmigrate configures and starts it here, and only a clean stop lets it follow without a rewind");
  return Status::Ok();
}

Status step_switchover(Context& c, StateFile& m, const Preflight& p) {
  bool reachable = false;
  const bool recovering = in_recovery(c.spec.standby_conninfo, &reachable);
  if (reachable && !recovering) {
    c.say("switchover", "the new server is already promoted");
    return m.update([](State& s) { s.switched = true; });
  }
  const pg::SwitchoverOptions o = switchover_options(c, m.slot(), p);
  c.say("switchover", std::string("switching over (fence ") + pg::fence_name(o.fence) + ")");
  pg::Switchover sw(o, c.cancel,
                    [&](const pg::SwitchoverStep& st) { c.say("switchover", st.name + (st.detail.empty() ? "" : ": " + st.detail)); });
  Status s = sw.run();
  const auto& rep = sw.report();
  (void)m.update([&](State& st) {
    if (rep.write_window_s) st.write_window_s = *rep.write_window_s;
    st.switched = rep.promoted;
    if (rep.old_is_standby) {
      st.fallback_slot = o.fallback_slot;
      st.fallback_pgdata = p.data_directory;
      st.fallback_new_primary = pg::redact_conninfo(c.spec.standby_conninfo);
    }
  });
  return s;
}

Status step_cleanup(Context& c, StateFile& m) {
  std::vector<std::string> done;
  const zfs::Zfs zfs = local_zfs(c.spec);
  const State st = m.snapshot();
  for (const auto& h : st.holds)
    if (zfs.release(st.tag(), h).ok()) done.push_back("released the hold on " + h);
  m.change([](State& s) { s.holds.clear(); });
  // The old primary's slot: needed no more once the standby is promoted; a stopped old primary
  // takes it along (say so). One kept as a standby dropped its copy when it became one.
  if (st.fallback_slot) {
    done.push_back("the old primary follows the new one through slot '" + *st.fallback_slot +
                   "' there: the fallback window is open (docs/runbook.md, section 6)");
  } else if (st.slot_created.value_or(false)) {
    auto primary = pg::Connection::connect(c.spec.primary, "primary");
    if (primary && pg::drop_slot(*primary, m.slot()).ok()) done.push_back("dropped slot '" + m.slot() + "' on the old primary");
    else done.push_back("the old primary is down: its slot '" + m.slot() + "' goes with it (drop it if you ever start that server again)");
  }
  if (st.fallback_slot) {
    // A fallback may want them (a copy to go back to): they go when the window ends.
    done.push_back("kept the migration snapshots (pgmigrate-" + st.id + "-*) on both sides for the fallback window");
  } else if (!c.spec.keep_snapshots) {
    for (const auto& s : migration_snapshots(zfs, st, c.spec.source))
      if (zfs.destroy(s).ok()) done.push_back("destroyed " + s);
    auto far = run_remote_json(c.remote, destroy_snapshots_command(shell_quote, c.remote.remote_bin(), c.spec.target_dataset, st.snap("")),
                               c.cancel);
    if (far && (*far).contains("destroyed") && (*far)["destroyed"].is_array())
      for (const auto& s : (*far)["destroyed"]) done.push_back("destroyed " + s.get<std::string>() + " on " + c.remote.host_label());
  }
  for (const auto& d : done) c.say("cleanup", d);
  return m.save();
}

constexpr Step<StepContext> kStepTable[] = {
    {"bulk", [](StepContext& x) { return step_bulk(x.c, x.m, x.p); },
     "release the base snapshot's hold and destroy it; destroy the target"},
    {"rounds", [](StepContext& x) { return step_rounds(x.c, x.m, x.p); }, "release and destroy the round snapshots"},
    {"final", [](StepContext& x) { return step_final(x.c, x.m, x.p); }, "drop the slot; release and destroy the final snapshot"},
    {"standby", [](StepContext& x) { return step_standby(x.c, x.m, x.p); }, "stop the standby on the target"},
    {"catchup", [](StepContext& x) { return step_catchup(x.c, x.m); }, "nothing"},
    {"switchover", [](StepContext& x) { return step_switchover(x.c, x.m, x.p); }, "none: the target is the primary (abort refuses)"},
    {"cleanup", [](StepContext& x) { return step_cleanup(x.c, x.m); }, "nothing"},
};

}  // namespace

const Step<StepContext>* find_run_step(std::string_view name) { return find_step(kStepTable, name); }

}  // namespace pgm::migrate
