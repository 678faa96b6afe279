// `pgmigrate migrate run|plan|status|abort`: the whole move of a Postgres data directory on ZFS
// to another host as one journaled plan, ordered so that the replication slot exists only for
// the last, small increment:
//
//   preflight → bulk (snapshot+hold, full send, no slot) → rounds (incrementals until small)
//   → final (slot, CHECKPOINT, snapshot, incremental) → standby (on the target, over SSH)
//   → catchup (lag under --max-lag) → switchover (--switchover) → cleanup
//
// Each step is idempotent and recorded in <state>/migrations/<id>.json before and after it
// runs, so `run` again (after a crash, SIGKILL, or Ctrl-C) continues at the step that was
// interrupted without a second slot or snapshot; transfers resume through the far half's
// journal (see remote_transfer.h). Nothing here writes to the source dataset except the
// migration's own snapshots and holds.
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "cli/command.h"
#include "cli/endpoint.h"
#include "cli/exit.h"
#include "cli/remote_internal.h"
#include "cli/remote_options.h"
#include "cli/remote_transfer.h"
#include "cli/secret_options.h"
#include "cli/transfer_options.h"
#include "common/units.h"
#include "journal/journal.h"
#include "migrate/sampler.h"
#include "migrate/state.h"
#include "migrate/state_check.h"
#include "migrate/steps.h"
#include "pg/connection.h"
#include "pg/conninfo.h"
#include "pg/lag.h"
#include "pg/layout_check.h"
#include "pg/slot.h"
#include "pg/switchover.h"
#include "source/process.h"
#include "zfs/zfs.h"

namespace pgm::cli {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;


struct MigrateArgs {
  std::string source, target, primary, standby_primary, standby, id, state_dir, post_hook,
      fence = "stop", primary_pgdata, stop_cmd, start_cmd, bindir, max_lag = "16M", switch_timeout = "2m", delta_target = "1G",
      catchup_timeout = "30m", assume_rate = "100M", pause_before;
  int standby_port = 0;
  unsigned rounds = 1;
  bool switchover = false, no_switchover = false, keep_snapshots = false, json = false;
  TransferOptions transfer;
  RemoteCliOptions remote;
};

// ---------------------------------------------------------------------------------------
// The state file (migrate/state.h: typed, one lock for every thread of a run).

using Migration = migrate::StateFile;

// The process running a migration, as the state file names it: pid, start time and boot, so
// that a reused pid (after a reboot, say) is neither "running" nor ever signalled.
journal::Record run_process(const migrate::State& s) {
  journal::Record r;
  r.pid = s.pid.value_or(0);
  r.pid_start = s.pid_start.value_or(0);
  r.boot_id = s.boot_id.value_or("");
  return r;
}

std::string migrations_dir(const std::string& state_dir_opt) { return journal::state_dir_path(state_dir_opt) + "/migrations"; }

// Every migration's state. One that cannot be read stops the command: skipping it would let
// `run` start a second migration of the same source beside it (a second slot) and hide from
// `status` and `abort` a slot that may be holding WAL on the primary.
Result<std::vector<Migration>> list_migrations(const std::string& state_dir_opt) {
  auto base = journal::choose_state_dir(state_dir_opt);
  if (!base) return base.status();
  std::vector<Migration> out;
  for (const auto& path : journal::json_files(*base + "/migrations")) {
    auto m = Migration::load(path);
    if (!m) {
      struct stat st {};
      if (::lstat(path.c_str(), &st) != 0 && errno == ENOENT) continue;  // removed since the listing (abort)
      return Status(Errc::corrupt, "migration state " + path + " is unreadable (" + m.status().message() +
                                       "): fix or move it aside; a migration's slot may still hold WAL on the primary "
                                       "(pgmigrate pg slot status / drop)");
    }
    out.push_back(std::move(*m));
  }
  std::sort(out.begin(), out.end(), [](const Migration& a, const Migration& b) {
    return a.read([](const migrate::State& s) { return s.started.value_or(0.0); }) <
           b.read([](const migrate::State& s) { return s.started.value_or(0.0); });
  });
  return out;
}

// ---------------------------------------------------------------------------------------
// Local ZFS and the far host.

// The migration's own snapshots of `dataset` (named pgmigrate-<id>-*): nothing else is ever
// released or destroyed.
std::vector<std::string> migration_snapshots(const migrate::State& m, const std::string& dataset) {
  std::vector<std::string> out;
  zfs::Zfs zfs;
  if (auto all = zfs.snapshots(dataset))
    for (const auto& s : *all)
      if (s.rfind(dataset + "@" + m.snap(""), 0) == 0) out.push_back(s);
  return out;
}

// Creates the snapshot unless it exists, and holds it (so a retention job cannot destroy it
// while the migration still needs it).
Status ensure_held_snapshot(Migration& m, const std::string& snapshot) {
  zfs::Zfs zfs;
  auto exists = zfs.exists(snapshot);
  if (!exists) return exists.status();
  if (!*exists) PGM_RETURN_IF_ERROR(zfs.snapshot(snapshot));
  const bool held = m.read([&](const migrate::State& s) { return std::ranges::find(s.holds, snapshot) != s.holds.end(); });
  if (held) return Status::Ok();
  PGM_RETURN_IF_ERROR(zfs.hold(m.tag(), snapshot));
  return m.update([&](migrate::State& s) { s.holds.push_back(snapshot); });
}

// Runs a far pgmigrate command and returns its stdout. `secrets` (conninfo that may hold a
// password) go on its stdin, never on its command line, which every user there sees in `ps`.
Result<std::string> run_remote(const RemoteOptions& remote, const std::string& command, CancelToken& cancel,
                               const std::vector<std::pair<std::string, std::string>>& secrets = {}) {
  auto conn = remote.connect(cancel);
  if (!conn) return conn.status();
  std::string full = command;
  if (!secrets.empty()) {
    // `BIN --options-stdin REST`: the flag must come first (see secret_options.h).
    const std::string bin = shell_quote(remote.remote_bin);
    if (full.rfind(bin + " ", 0) != 0) return Status(Errc::internal, "run_remote: secrets need a pgmigrate command");
    full = bin + " " + kOptionsStdinFlag + full.substr(bin.size());
  }
  auto ch = (*conn)->exec(full, cancel);
  if (!ch) return ch.status();
  if (!secrets.empty()) {
    const std::string line = options_line(secrets);
    PGM_RETURN_IF_ERROR((*ch)->write_all({reinterpret_cast<const std::uint8_t*>(line.data()), line.size()}));
  }
  (void)(*ch)->send_eof();
  std::string out;
  std::array<std::uint8_t, 65536> buf{};
  while (!(*ch)->eof()) {
    if (cancel.cancelled()) return cancel.reason();
    auto n = (*ch)->read_some(buf, milliseconds(1000));
    if (!n) return n.status();
    // The far side answers with one JSON document; a far command that streams without end
    // (a wrong --remote-bin, a shell profile) must not grow this process without bound.
    if (out.size() + *n > kMaxCommandOutput)
      return Status(Errc::protocol, "the answer of " + remote.host_label + " to '" + command + "' exceeds " +
                                        std::to_string(kMaxCommandOutput >> 20) + " MiB; giving up");
    out.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
  auto code = (*ch)->wait_exit();
  if (!code) return code.status();
  if (*code != 0)
    return explain_far_exit(**ch, remote.host_label, remote.remote_bin,
                            Status(errc_for_exit_code(*code), "on " + remote.host_label + ": exit status " + std::to_string(*code)));
  return out;
}

Result<json> run_remote_json(const RemoteOptions& remote, const std::string& command, CancelToken& cancel,
                             const std::vector<std::pair<std::string, std::string>>& secrets = {}) {
  auto out = run_remote(remote, command, cancel, secrets);
  if (!out) return out.status();
  json j = json::parse(*out, nullptr, false);
  if (j.is_discarded()) return Status(Errc::protocol, "unexpected answer from " + remote.host_label + ": " + *out);
  // Every key read below has the type it is read as (a far pgmigrate of another version must
  // not make a lookup throw).
  if (Status s = migrate::check_target_reply(j); !s.ok())
    return Status(Errc::protocol, "unexpected answer from " + remote.host_label + ": " + s.message());
  return j;
}

// With --tls-port, the transfers' data goes straight to that port on the target: try it the
// way they will (a listener there with a fresh key, a TLS handshake from here), so that a
// firewall shows in the plan rather than at the first send.
Status probe_tls_path(const RemoteOptions& remote, const std::string& dataset, CancelToken& cancel) {
  auto conn = remote.connect(cancel);
  if (!conn) return conn.status();
  auto ch = (*conn)->exec(shell_quote(remote.remote_bin) + " _migrate-target --dataset " + shell_quote(dataset) + " --probe-tls-port " +
                              std::to_string(*remote.tls_port),
                          cancel);
  if (!ch) return ch.status();
  std::string line;
  std::array<std::uint8_t, 4096> buf{};
  const auto deadline = std::chrono::steady_clock::now() + remote.connect_timeout;
  while (line.find('\n') == std::string::npos && !(*ch)->eof() && std::chrono::steady_clock::now() < deadline) {
    if (cancel.cancelled()) return cancel.reason();
    auto n = (*ch)->read_some(buf, milliseconds(200));
    if (!n) return n.status();
    line.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
  json j = json::parse(line.substr(0, line.find('\n')), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return explain_far_exit(**ch, remote.host_label, remote.remote_bin,
                            Status(Errc::protocol, "no answer from the TLS probe on " + remote.host_label));
  auto key = transport::TlsKey::from_hex(transport::json_string(j, "key"));
  if (!key) return key.status();
  const int port = remote.tls_dial_port != 0 ? remote.tls_dial_port : static_cast<int>(transport::json_u64(j, "port", 0));
  auto tls = transport::tls_connect(remote.tls_dial_host, port, *key, std::chrono::steady_clock::now() + remote.connect_timeout, cancel);
  if (!tls)
    return Status(tls.status().code(), "the TLS data path does not work from here: " + tls.status().message() +
                                           " (open that port to this host, or drop --tls-port)");
  (void)(*tls)->wait_exit();
  (void)(*ch)->send_eof();
  auto code = (*ch)->wait_exit();
  if (code && *code != 0)
    return explain_far_exit(**ch, remote.host_label, remote.remote_bin,
                            Status(errc_for_exit_code(*code), "the TLS probe on " + remote.host_label + " failed"));
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------
// The plan and its steps.

struct Context {
  RunContext& ctx;
  const MigrateArgs& args;
  RemoteOptions remote;
  ResolvedTransfer transfer;
  std::string target_dataset;
  std::string standby_conninfo;  // how this host reaches the new server
  std::string standby_primary;   // how the new server reaches the primary
  bool json_progress = false;

  void say(const std::string& step, const std::string& text) const {
    if (ctx.global.quiet) return;
    if (json_progress) {
      std::fprintf(stderr, "%s\n", json{{"event", "step"}, {"step", step}, {"message", text}}.dump().c_str());
      return;
    }
    std::size_t n = 0;
    while (n < migrate::kStepNames.size() && migrate::kStepNames[n] != step) ++n;
    std::fprintf(stderr, "migrate [%zu/%zu %s] %s\n", n + 1, migrate::kStepNames.size(), step.c_str(), text.c_str());
  }
  std::string q(const std::string& s) const { return shell_quote(s); }
};

struct Preflight {  // NOLINT(bugprone-exception-escape): nlohmann::json's members may throw; so may we
  std::uint64_t referenced = 0;
  std::string mountpoint, data_directory, relative_pgdata;
  int pg_major = 0;
  json target;  // the far probe
  std::vector<std::string> notes;
};

Result<Preflight> preflight(Context& c, Migration* m) {
  Preflight p;
  zfs::Zfs zfs;
  auto exists = zfs.exists(c.args.source);
  if (!exists) return exists.status();
  if (!*exists) return Status(Errc::not_found, "source dataset '" + c.args.source + "' does not exist");
  auto ref = zfs.referenced(c.args.source);
  if (!ref) return ref.status();
  p.referenced = *ref;
  auto mp = zfs.get("mountpoint", c.args.source);
  if (!mp) return mp.status();
  p.mountpoint = *mp;

  auto primary = pg::Connection::connect(c.args.primary, "primary");
  if (!primary) return primary.status();
  p.pg_major = primary->server_major();
  auto dd = primary->scalar("SHOW data_directory");
  if (!dd) return dd.status();
  p.data_directory = *dd;
  auto layout = pg::check_layout(*primary, {c.args.source});
  if (!layout) return layout.status();
  if (!layout->ok()) {
    std::string all;
    for (const auto& prob : layout->problems) all += (all.empty() ? "" : "; ") + prob;
    return Status(Errc::invalid_argument,
                  "refusing to migrate: a snapshot of '" + c.args.source + "' would not hold a consistent database: " + all);
  }
  for (const auto& n : layout->notes) p.notes.push_back(n);
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

  auto probe = run_remote_json(c.remote,
                               c.q(c.remote.remote_bin) + " _migrate-target --probe --dataset " + c.q(c.target_dataset) + " --pg-major " +
                                   std::to_string(p.pg_major) + (c.args.bindir.empty() ? "" : " --pg-bindir " + c.q(c.args.bindir)),
                               c.ctx.cancel, {{"--replication", c.standby_primary}});
  if (!probe) return probe.status().context("checking the target " + c.remote.host_label);
  p.target = *probe;
  const bool started = m && m->step_status("bulk") != "pending";
  if (!p.target.value("pool_exists", false))
    return Status(Errc::not_found, "target pool of '" + c.target_dataset + "' does not exist on " + c.remote.host_label);
  if (p.target.value("dataset_exists", false) && !started)
    return Status(Errc::exists,
                  "target '" + c.target_dataset + "' already exists on " + c.remote.host_label + ": migrate into a new dataset");
  const std::uint64_t avail = p.target.value("pool_available", std::uint64_t{0});
  if (!started && avail < p.referenced)
    return Status(Errc::no_space, "the target pool has " + format_bytes(static_cast<double>(avail)) + " available, the source references " +
                                      format_bytes(static_cast<double>(p.referenced)));
  if (!p.target.value("pg_major_ok", false))
    return Status(Errc::not_found, "Postgres " + std::to_string(p.pg_major) + " server binaries were not found on " + c.remote.host_label +
                                       " (looked for " + p.target.value("pg_ctl", std::string("pg_ctl")) + ")");
  if (p.target.value("replication", std::string()) != "ok")
    return Status(Errc::postgres, c.remote.host_label + " cannot open a replication connection to the primary: " +
                                      p.target.value("replication", std::string("unknown")));
  if (c.remote.tls_port) PGM_RETURN_IF_ERROR(probe_tls_path(c.remote, c.target_dataset, c.ctx.cancel));
  if (!p.target.value("recv_resumable", false))
    p.notes.push_back(
        "zfs on " + c.remote.host_label +
        " cannot keep an interrupted receive (no 'zfs receive -s'): a restart of the target during a send restarts that send; "
        "a restart of this side resumes");
  return p;
}

// Sends `snapshot` (incremental from `base` when not empty) unless the target already has it.
Status send_step(Context& c, Migration& m, const std::string& step, const std::string& snapshot, const std::string& base,
                 std::uint64_t* bytes_out) {
  const std::string short_name = snapshot.substr(snapshot.find('@') + 1);
  auto probe =
      run_remote_json(c.remote, c.q(c.remote.remote_bin) + " _migrate-target --probe --dataset " + c.q(c.target_dataset), c.ctx.cancel);
  if (!probe) return probe.status();
  if ((*probe).contains("snapshots"))
    for (const auto& s : (*probe)["snapshots"])
      if (s == c.target_dataset + "@" + short_name) {
        c.say(step, short_name + " is already on the target");
        if (bytes_out) *bytes_out = 0;
        return Status::Ok();
      }
  source::SourceSpec src;
  src.snapshot = snapshot;
  if (!base.empty()) src.flags.incremental = base;
  sink::SinkSpec dst;
  dst.target = c.target_dataset;
  c.say(step, "sending " + snapshot + (base.empty() ? "" : " (incremental from " + base + ")") + " to " + c.remote.host_label + ":" +
                  c.target_dataset);
  std::atomic<std::uint64_t> position{0};
  TransferSummary sum;
  RemoteOptions remote = c.remote;
  remote.position = &position;
  remote.summary_out = &sum;
  migrate::TransferReporter reporter(m, snapshot, position);
  Status s = push_to_remote(c.ctx, src, dst, c.transfer, c.args.transfer, remote);
  reporter.finish();
  if (!s.ok()) return s;
  m.add_bytes(step, sum.logical_bytes);
  if (bytes_out) *bytes_out = sum.logical_bytes;
  return m.save();
}

// Samples the slot's retained WAL into the state while `fn` runs; keeps the peak.
template <typename Fn>
Status with_slot_sampling(Context& c, Migration& m, Fn fn) {
  // The sampler's own connection, made on its thread at its first sample: none, no samples.
  std::optional<Result<pg::Connection>> conn;
  const std::string slot = m.slot();
  migrate::SlotSampler sampler(m, [&]() -> std::optional<std::uint64_t> {
    if (!conn) conn = pg::Connection::connect(c.args.primary, "primary");
    if (!*conn) return std::nullopt;
    auto st = pg::slot_status(**conn, slot);
    return st ? std::optional<std::uint64_t>(st->retained_bytes) : std::nullopt;
  });
  Status s = fn();
  (void)sampler.finish();
  return s;
}

std::string last_sent(const Migration& m) {
  return m.read([](const migrate::State& s) { return s.last_sent.value_or(""); });
}

bool in_recovery(const std::string& conninfo, bool* reachable) {
  auto c = pg::Connection::connect(conninfo, "standby");
  *reachable = static_cast<bool>(c);
  if (!c) return false;
  auto r = c->scalar("SELECT pg_is_in_recovery()");
  return r && *r == "t";
}

Status step_bulk(Context& c, Migration& m) {
  const std::string snap = c.args.source + "@" + m.snap("base");
  PGM_RETURN_IF_ERROR(ensure_held_snapshot(m, snap));
  PGM_RETURN_IF_ERROR(send_step(c, m, "bulk", snap, "", nullptr));
  m.change([&](migrate::State& s) { s.last_sent = snap; });
  return Status::Ok();
}

Status step_rounds(Context& c, Migration& m) {
  const std::uint64_t delta = *parse_size(c.args.delta_target);
  auto [done_rounds, last_round_bytes] = m.read([](const migrate::State& s) {
    return std::pair{static_cast<unsigned>(s.rounds_done.value_or(0)), s.last_round_bytes.value_or(UINT64_MAX)};
  });
  while (done_rounds < c.args.rounds) {
    if (done_rounds > 0 && last_round_bytes < delta) break;
    const unsigned r = done_rounds + 1;
    const std::string snap = c.args.source + "@" + m.snap("r" + std::to_string(r));
    PGM_RETURN_IF_ERROR(ensure_held_snapshot(m, snap));
    std::uint64_t bytes = 0;
    PGM_RETURN_IF_ERROR(send_step(c, m, "rounds", snap, last_sent(m), &bytes));
    done_rounds = r;
    last_round_bytes = bytes;
    PGM_RETURN_IF_ERROR(m.update([&](migrate::State& s) {
      s.last_sent = snap;
      s.rounds_done = r;
      s.last_round_bytes = bytes;
    }));
    c.say("rounds", "round " + std::to_string(r) + " moved " + format_bytes(static_cast<double>(bytes)));
    if (bytes < delta) break;
  }
  return Status::Ok();
}

Status step_final(Context& c, Migration& m) {
  const std::string snap = c.args.source + "@" + m.snap("final");
  zfs::Zfs zfs;
  auto snap_exists = zfs.exists(snap);
  if (!snap_exists) return snap_exists.status();
  if (!*snap_exists) {
    // A checkpoint, then the slot, then the snapshot. A new physical slot reserves WAL from
    // the last checkpoint's redo point, so checkpointing first keeps the slot from holding
    // everything written since the previous checkpoint (possibly since before the bulk copy).
    // The standby replays from the redo point of the last checkpoint before the snapshot,
    // which is this one or a later one: never before what the slot holds.
    auto primary = pg::Connection::connect(c.args.primary, "primary");
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
    PGM_RETURN_IF_ERROR(m.update([](migrate::State& s) { s.slot_created = true; }));
  }
  PGM_RETURN_IF_ERROR(ensure_held_snapshot(m, snap));
  Status sent = with_slot_sampling(c, m, [&] {
    Status s = send_step(c, m, "final", snap, last_sent(m), nullptr);
    if (s.ok()) m.change([&](migrate::State& st) { st.last_sent = snap; });
    return s;
  });
  if (sent.ok()) {
    const migrate::State st = m.snapshot();
    c.say("final", "slot '" + st.slot.value_or("") + "' retains " + format_bytes(static_cast<double>(st.slot_retained.value_or(0))) +
                       " (peak " + format_bytes(static_cast<double>(st.peak_retained.value_or(0))) + ")");
  }
  return sent;
}

Status step_standby(Context& c, Migration& m, const Preflight& p) {
  bool reachable = false;
  if (in_recovery(c.standby_conninfo, &reachable)) {
    c.say("standby", "the standby already runs (" + pg::describe_conninfo(c.standby_conninfo) + ")");
    return Status::Ok();
  }
  auto probe =
      run_remote_json(c.remote, c.q(c.remote.remote_bin) + " _migrate-target --probe --dataset " + c.q(c.target_dataset), c.ctx.cancel);
  if (!probe) return probe.status();
  const std::string mountpoint = (*probe).value("mountpoint", std::string());
  if (mountpoint.empty() || mountpoint == "none" || mountpoint == "legacy")
    return Status(Errc::invalid_argument, "the target dataset '" + c.target_dataset + "' is not mounted (mountpoint " + mountpoint + ")");
  const std::string pgdata = p.relative_pgdata.empty() ? mountpoint : mountpoint + "/" + p.relative_pgdata;
  PGM_RETURN_IF_ERROR(m.update([&](migrate::State& s) { s.target_pgdata = pgdata; }));
  c.say("standby", "starting a standby in " + pgdata + " on " + c.remote.host_label + ", port " + std::to_string(c.args.standby_port));
  std::string cmd = c.q(c.remote.remote_bin) + " pg standby --pgdata " + c.q(pgdata) + " --slot " + c.q(m.slot()) + " --port " +
                    std::to_string(c.args.standby_port) + " --start --timeout 120s";
  if (!c.args.bindir.empty()) cmd += " --pg-bindir " + c.q(c.args.bindir);
  auto out = run_remote(c.remote, cmd, c.ctx.cancel, {{"--primary", c.standby_primary}, {"--standby", c.standby_conninfo}});
  if (!out) return out.status().context("starting the standby");
  return m.update([](migrate::State& s) { s.standby_started = true; });
}

Status step_catchup(Context& c, Migration& m) {
  auto primary = pg::Connection::connect(c.args.primary, "primary");
  if (!primary) return primary.status();
  auto standby = pg::Connection::connect(c.standby_conninfo, "standby");
  if (!standby) return standby.status();
  const std::uint64_t bound = *parse_size(c.args.max_lag);
  auto timeout = parse_duration(c.args.catchup_timeout);
  if (!timeout) return timeout.status().context("--catchup-timeout");
  c.say("catchup", "waiting until the standby replays within " + format_bytes(static_cast<double>(bound)) + " of the primary");
  auto last_line = std::chrono::steady_clock::now();
  return with_slot_sampling(c, m, [&] {
    auto r = pg::wait_for_lag(*primary, *standby, m.slot(), bound, *timeout, c.ctx.cancel, [&](const pg::LagReport& lag) {
      (void)m.record_lag(lag.replay_bytes());
      // A line every few seconds: the lag and what the slot holds meanwhile.
      if (std::chrono::steady_clock::now() - last_line >= std::chrono::seconds(5)) {
        last_line = std::chrono::steady_clock::now();
        c.say("catchup", "replay lag " + format_bytes(static_cast<double>(lag.replay_bytes())) + ", slot retains " +
                             format_bytes(static_cast<double>(m.read([](const migrate::State& s) { return s.slot_retained.value_or(0); }))));
      }
    });
    if (!r) return name_setting(r.status(), pg::kLagTimeoutSetting, "--catchup-timeout");
    m.change([&](migrate::State& s) { s.lag_bytes = r->replay_bytes(); });
    return Status::Ok();
  });
}

Status step_switchover(Context& c, Migration& m) {
  bool reachable = false;
  const bool recovering = in_recovery(c.standby_conninfo, &reachable);
  if (reachable && !recovering) {
    c.say("switchover", "the new server is already promoted");
    return m.update([](migrate::State& s) { s.switched = true; });
  }
  pg::SwitchoverOptions o;
  o.primary_conninfo = c.args.primary;
  o.standby_conninfo = c.standby_conninfo;
  o.slot = m.slot();
  auto fence = pg::parse_fence(c.args.fence);
  if (!fence) return fence.status();
  o.fence = *fence;
  o.primary_pgdata = c.args.primary_pgdata;
  o.stop_cmd = c.args.stop_cmd;
  o.start_cmd = c.args.start_cmd;
  o.bindir = c.args.bindir;
  o.max_lag = *parse_size(c.args.max_lag);
  auto t = parse_duration(c.args.switch_timeout);
  if (!t) return t.status().context("--timeout");
  o.timeout = *t;
  o.post_hook = c.args.post_hook;
  c.say("switchover", std::string("switching over (fence ") + pg::fence_name(o.fence) + ")");
  pg::Switchover sw(o, c.ctx.cancel,
                    [&](const pg::SwitchoverStep& st) { c.say("switchover", st.name + (st.detail.empty() ? "" : ": " + st.detail)); });
  Status s = sw.run();
  const auto& rep = sw.report();
  (void)m.update([&](migrate::State& st) {
    if (rep.write_window_s) st.write_window_s = *rep.write_window_s;
    st.switched = rep.promoted;
  });
  return s;
}

Status step_cleanup(Context& c, Migration& m) {
  std::vector<std::string> done;
  zfs::Zfs zfs;
  const migrate::State st = m.snapshot();
  for (const auto& h : st.holds)
    if (zfs.release(st.tag(), h).ok()) done.push_back("released the hold on " + h);
  m.change([](migrate::State& s) { s.holds.clear(); });
  // The old primary's slot: needed no more once the standby is promoted; a stopped old primary
  // takes it along (say so).
  if (st.slot_created.value_or(false)) {
    auto primary = pg::Connection::connect(c.args.primary, "primary");
    if (primary && pg::drop_slot(*primary, m.slot()).ok()) done.push_back("dropped slot '" + m.slot() + "' on the old primary");
    else done.push_back("the old primary is down: its slot '" + m.slot() + "' goes with it (drop it if you ever start that server again)");
  }
  if (!c.args.keep_snapshots) {
    for (const auto& s : migration_snapshots(st, c.args.source))
      if (zfs.destroy(s).ok()) done.push_back("destroyed " + s);
    auto far = run_remote_json(c.remote,
                               c.q(c.remote.remote_bin) + " _migrate-target --dataset " + c.q(c.target_dataset) + " --destroy-snapshots " +
                                   c.q("pgmigrate-" + m.id() + "-"),
                               c.ctx.cancel);
    if (far && (*far).contains("destroyed") && (*far)["destroyed"].is_array())
      for (const auto& s : (*far)["destroyed"]) done.push_back("destroyed " + s.get<std::string>() + " on " + c.remote.host_label);
  }
  for (const auto& d : done) c.say("cleanup", d);
  return m.save();
}

// The step table (migrate/steps.h): what runs each step after the preflight, and what abort
// undoes of it.
struct StepContext {
  Context& c;
  Migration& m;
  const Preflight& p;
};

constexpr migrate::Step<StepContext> kStepTable[] = {
    {"bulk", [](StepContext& x) { return step_bulk(x.c, x.m); }, "release the base snapshot's hold and destroy it; destroy the target"},
    {"rounds", [](StepContext& x) { return step_rounds(x.c, x.m); }, "release and destroy the round snapshots"},
    {"final", [](StepContext& x) { return step_final(x.c, x.m); }, "drop the slot; release and destroy the final snapshot"},
    {"standby", [](StepContext& x) { return step_standby(x.c, x.m, x.p); }, "stop the standby on the target"},
    {"catchup", [](StepContext& x) { return step_catchup(x.c, x.m); }, "nothing"},
    {"switchover", [](StepContext& x) { return step_switchover(x.c, x.m); }, "none: the target is the primary (abort refuses)"},
    {"cleanup", [](StepContext& x) { return step_cleanup(x.c, x.m); }, "nothing"},
};

void print_report(const Migration& m, bool quiet) {
  if (quiet) return;
  const migrate::State st = m.snapshot();
  std::fprintf(stderr, "\nmigration %s report\n", st.id.c_str());
  for (const auto name : migrate::kStepNames) {
    auto it = st.steps.find(std::string(name));
    if (it == st.steps.end()) continue;
    const auto& s = it->second;
    std::string line = "  " + std::string(name) + ": " + s.status.value_or("") + ", " + format_duration(s.seconds.value_or(0.0));
    if (s.bytes) line += ", " + format_bytes(static_cast<double>(*s.bytes)) + " sent";
    if (s.detail) line += " (" + *s.detail + ")";
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fprintf(stderr, "  peak WAL retained by the slot: %s\n", format_bytes(static_cast<double>(st.peak_retained.value_or(0))).c_str());
  if (st.write_window_s) std::fprintf(stderr, "  write-unavailability window: %.3fs\n", *st.write_window_s);
}

Result<Context> make_context(RunContext& ctx, const MigrateArgs& a) {
  auto endpoint = parse_endpoint(a.target);
  if (!endpoint) return endpoint.status();
  if (endpoint->stdio || endpoint->host.empty()) return Status(Errc::invalid_argument, "--target must be [user@]host:POOL/FS");
  PGM_RETURN_IF_ERROR(zfs::validate_dataset(a.source));
  PGM_RETURN_IF_ERROR(zfs::validate_dataset(endpoint->name));
  if (a.standby_port <= 0 && a.standby.empty()) return Status(Errc::invalid_argument, "--standby-port (or --standby CONNINFO) is required");
  for (const auto* v : {&a.max_lag, &a.delta_target, &a.assume_rate})
    if (auto s = parse_size(*v); !s) return s.status();
  auto remote = make_remote(a.remote, *endpoint);
  if (!remote) return remote.status();
  auto t = resolve(a.transfer);
  if (!t) return t.status();
  Context c{ctx,
            a,
            *remote,
            *t,
            endpoint->name,
            a.standby,
            a.standby_primary.empty() ? a.primary : a.standby_primary,
            a.transfer.progress == "json"};
  if (c.standby_conninfo.empty())
    c.standby_conninfo = pg::conninfo_with(pg::conninfo_with(a.primary, "host", endpoint->host), "port", std::to_string(a.standby_port));
  return c;
}

Result<Migration> open_migration(const MigrateArgs& a, const std::string& target_label, bool create) {
  auto base = journal::state_dir(a.state_dir);
  if (!base) return base.status();
  const std::string dir = *base + "/migrations";
  PGM_RETURN_IF_ERROR(journal::make_private_dir(dir));
  auto all = list_migrations(a.state_dir);
  if (!all) return all.status();
  for (auto& m : *all) {
    const migrate::State st = m.snapshot();
    const std::string state = st.state.value_or("");
    const bool same = a.id.empty() ? (st.source.value_or("") == a.source && st.target.value_or("") == target_label && state != "done" &&
                                      state != "aborted")
                                   : st.id == a.id;
    if (same) return std::move(m);
  }
  if (!create)
    return Status(Errc::not_found, "no migration " + (a.id.empty() ? "of " + a.source + " to " + target_label : a.id) + " in " + dir);
  std::string id = a.id;
  if (id.empty()) {
    std::random_device rd;
    char buf[9];
    std::snprintf(buf, sizeof buf, "%08x", rd());
    id = buf;
  }
  for (char ch : id)
    if (!std::isalnum(static_cast<unsigned char>(ch)) || std::isupper(static_cast<unsigned char>(ch)))
      return Status(Errc::invalid_argument, "--id: use lowercase letters and digits");
  migrate::State st;
  st.id = id;
  st.source = a.source;
  st.target = target_label;
  st.slot = "pgmigrate_" + id;
  st.state = "new";
  st.started = journal::unix_now();
  Migration m(dir + "/" + id + ".json", std::move(st));
  PGM_RETURN_IF_ERROR(m.save());
  return m;
}

Status pause_for_test(Context& c, const std::string& step) {
  if (c.args.pause_before != step) return Status::Ok();
  std::fprintf(stderr, "migrate: pausing before %s (testing aid)\n", step.c_str());
  for (int i = 0; i < 600 && !c.ctx.cancel.cancelled(); ++i) std::this_thread::sleep_for(milliseconds(100));
  return c.ctx.cancel.cancelled() ? c.ctx.cancel.reason() : Status::Ok();
}

Status run_migration(RunContext& ctx, const MigrateArgs& a) {
  auto c = make_context(ctx, a);
  if (!c) return c.status();
  auto m = open_migration(a, a.target, true);
  if (!m) return m.status();
  if (const migrate::State st = m->snapshot(); st.pid.value_or(0) != static_cast<int>(::getpid()) && st.state == "running" &&
                                                  journal::process_alive(run_process(st)))
    return Status(Errc::exists, "migration " + st.id + " is already running (pid " + std::to_string(st.pid.value_or(0)) + ")");
  PGM_RETURN_IF_ERROR(m->update([](migrate::State& st) {
    st.pid = static_cast<int>(::getpid());
    st.pid_start = journal::process_start_ticks(static_cast<int>(::getpid()));
    st.boot_id = journal::boot_id();
    st.state = "running";
    st.error.reset();
  }));
  c->say("preflight", "migration " + m->id() + ": " + a.source + " -> " + a.target + " (state " + m->path() + ")");

  auto fail = [&](Status s) {
    std::string step;
    (void)m->update([&](migrate::State& st) {
      st.state = ctx.cancel.cancelled() ? "stopped" : "failed";
      st.error = s.message();
      step = st.current_step.value_or("");
    });
    if (!ctx.global.quiet)
      std::fprintf(stderr, "migrate: stopped in step %s; run the same command again to continue, or 'pgmigrate migrate abort %s'\n",
                   step.c_str(), m->id().c_str());
    return s;
  };
  Preflight p;
  {
    m->change([](migrate::State& st) { st.steps["preflight"] = {}; });  // checked again on every run
    m->begin_step("preflight");
    auto pf = preflight(*c, &*m);
    if (!pf) return fail(pf.status());
    p = *pf;
    for (const auto& n : p.notes) c->say("preflight", "note: " + n);
    m->change([&](migrate::State& st) { st.referenced = p.referenced; });
    m->end_step("preflight");
  }
  const migrate::RunOptions opts{a.switchover && !a.no_switchover};
  StepContext sc{*c, *m, p};
  while (auto next = migrate::next_step(m->snapshot(), opts)) {
    const std::string step(next->step);
    if (next->action == migrate::Action::stop_ready) {
      (void)m->update([](migrate::State& st) {
        st.state = "ready";
        st.current_step = "switchover";
      });
      print_report(*m, ctx.global.quiet);
      if (!ctx.global.quiet)
        std::fprintf(stderr,
                     "\nready: the standby streams from the primary through slot '%s'. In the maintenance window run the same command "
                     "with --switchover (or pgmigrate pg switchover --primary ... --standby '%s' --slot %s).\n",
                     m->slot().c_str(), pg::redact_conninfo(c->standby_conninfo).c_str(), m->slot().c_str());
      return Status::Ok();
    }
    if (Status s = pause_for_test(*c, step); !s.ok()) return fail(s);
    m->begin_step(step);
    const auto* entry = migrate::find_step(kStepTable, next->step);
    Status s = entry != nullptr ? entry->run(sc) : Status(Errc::internal, "no step " + step);
    if (!s.ok()) return fail(s);
    m->end_step(step);
  }
  (void)m->update([](migrate::State& st) {
    st.state = "done";
    st.current_step.reset();
  });
  print_report(*m, ctx.global.quiet);
  return Status::Ok();
}

Status plan_migration(RunContext& ctx, const MigrateArgs& a) {
  auto c = make_context(ctx, a);
  if (!c) return c.status();
  auto p = preflight(*c, nullptr);
  if (!p) return p.status();
  const double rate = static_cast<double>(*parse_size(a.assume_rate));
  const double bulk_s = static_cast<double>(p->referenced) / rate;
  std::printf("migration plan: %s -> %s (nothing has been changed)\n", a.source.c_str(), a.target.c_str());
  std::printf("  data directory %s (Postgres %d), all of it on %s\n", p->data_directory.c_str(), p->pg_major, a.source.c_str());
  std::printf("  target: %s; pool has %s available\n", p->target.value("zfs", std::string()).c_str(),
              format_bytes(static_cast<double>(p->target.value("pool_available", std::uint64_t{0}))).c_str());
  std::printf("  1. preflight: passed\n");
  std::printf("  2. bulk: snapshot @pgmigrate-<id>-base, hold it, send %s (~%s at %s/s); no slot, the primary is unaffected\n",
              format_bytes(static_cast<double>(p->referenced)).c_str(), format_duration(bulk_s).c_str(), format_bytes(rate).c_str());
  std::printf("  3. rounds: up to %u incremental send(s), stopping once one moves less than %s\n", a.rounds, a.delta_target.c_str());
  std::printf(
      "  4. final: create slot, CHECKPOINT, snapshot @pgmigrate-<id>-final, send the increment (the slot retains WAL only from here)\n");
  std::printf("  5. standby: prepare and start a streaming standby on %s, port %d\n", c->remote.host_label.c_str(), a.standby_port);
  std::printf("  6. catchup: wait until replay lag is under %s\n", a.max_lag.c_str());
  std::printf("  7. switchover: %s\n", a.switchover ? ("fence " + a.fence + ", promote, post-hook").c_str()
                                                    : "not requested (stops ready; rerun with --switchover)");
  std::printf("  8. cleanup: release holds, drop the slot where possible, %s the migration snapshots\n",
              a.keep_snapshots ? "keep" : "destroy");
  for (const auto& n : p->notes) std::printf("  note: %s\n", n.c_str());
  return Status::Ok();
}

Status status_migrations(const MigrateArgs& a) {
  auto listed = list_migrations(a.state_dir);
  if (!listed) return listed.status();
  auto& all = *listed;
  if (a.json) {
    json out = json::array();
    for (auto& m : all) {
      const migrate::State st = m.snapshot();
      json j = st.to_json();
      j["alive"] = journal::process_alive(run_process(st));
      out.push_back(j);
    }
    std::printf("%s\n", out.dump(2).c_str());
    return Status::Ok();
  }
  if (all.empty()) {
    std::printf("no migrations in %s\n", migrations_dir(a.state_dir).c_str());
    return Status::Ok();
  }
  const double now = journal::unix_now();
  for (auto& m : all) {
    const migrate::State st = m.snapshot();
    std::string state = st.state.value_or("");
    if (state == "running" && !journal::process_alive(run_process(st))) state = "interrupted";
    std::printf("%s  %s -> %s  %s, step %s, age %s\n", st.id.c_str(), st.source.value_or("").c_str(), st.target.value_or("").c_str(),
                state.c_str(), st.current_step.value_or("-").c_str(), format_duration(now - st.started.value_or(now)).c_str());
    if (st.transfer) {
      const auto& t = *st.transfer;
      const double rate = t.rate;
      std::string line = "    sending " + t.snapshot + ": " + format_bytes(static_cast<double>(t.bytes));
      const std::uint64_t total = st.referenced.value_or(0);
      if (st.current_step == "bulk" && total > 0) {
        line += " of ~" + format_bytes(static_cast<double>(total));
        if (rate > 0 && total > t.bytes) line += ", ETA " + format_duration(static_cast<double>(total - t.bytes) / rate);
      }
      std::printf("%s at %s\n", line.c_str(), format_rate(rate).c_str());
    }
    if (st.slot_retained)
      std::printf("    slot %s retains %s (peak %s)\n", st.slot.value_or("").c_str(), format_bytes(static_cast<double>(*st.slot_retained)).c_str(),
                  format_bytes(static_cast<double>(st.peak_retained.value_or(0))).c_str());
    if (st.lag_bytes) std::printf("    standby replay lag %s\n", format_bytes(static_cast<double>(*st.lag_bytes)).c_str());
    if (st.error) std::printf("    last error: %s\n", st.error->c_str());
  }
  return Status::Ok();
}

Status abort_migration(RunContext& ctx, const MigrateArgs& a) {
  auto listed = list_migrations(a.state_dir);
  if (!listed) return listed.status();
  auto& all = *listed;
  Migration* found = nullptr;
  for (auto& m : all)
    if (m.id() == a.id) found = &m;
  if (found == nullptr)
    return Status(Errc::not_found, "no migration '" + a.id + "' in " + migrations_dir(a.state_dir) + " (see pgmigrate migrate status)");
  const std::string path = found->path();
  migrate::State st = found->snapshot();  // this command's own copy: no other thread here
  auto refuse_switched = [&st](const std::string& when) {
    return Status(Errc::invalid_argument,
                  "migration " + st.id + " has switched over" + when + ": the target is the primary now; there is nothing to undo");
  };
  if (st.switched.value_or(false)) return refuse_switched("");
  MigrateArgs args = a;
  args.source = st.source.value_or("");
  args.target = st.target.value_or("");
  if (args.standby_port <= 0 && args.standby.empty()) args.standby_port = 1;  // not used by abort
  auto c = make_context(ctx, args);
  if (!c) return c.status();
  std::vector<std::string> done;
  if (int pid = st.pid.value_or(0);
      pid > 0 && pid != static_cast<int>(::getpid()) && journal::process_alive(run_process(st)) && st.state == "running") {
    PGM_RETURN_IF_ERROR(journal::stop_process(run_process(st), std::chrono::seconds(60)));
    done.push_back("stopped the running migration (pid " + std::to_string(pid) + ")");
    // What we read came before the stop. A run stopped in its switchover records the promotion
    // ("switched") on its way out (promotion comes before the write check, the slot drop and
    // the post-hook), and a run in its standby step may have recorded target_pgdata since.
    auto fresh = Migration::load(path);
    if (!fresh) return fresh.status().context("reading the state the stopped run left");
    st = fresh->snapshot();
    if (st.switched.value_or(false)) return refuse_switched(" while its run (pid " + std::to_string(pid) + ") was being stopped");
  }
  // The target: its standby, any receive still waiting, and the partial dataset. The far side
  // refuses, before it stops anything, when the server there is no standby, whatever this state
  // says: a switchover done by hand, or a run killed between promotion and recording it, leaves
  // no trace here.
  std::string cmd = c->q(c->remote.remote_bin) + " _migrate-target --abort --dataset " + c->q(c->target_dataset);
  if (st.target_pgdata) cmd += " --pgdata " + c->q(*st.target_pgdata);
  auto far = run_remote_json(c->remote, cmd, ctx.cancel);
  if (!far) return far.status().context("cleaning up the target");
  if ((*far).value("stopped_postgres", false)) done.push_back("stopped the standby on " + c->remote.host_label);
  for (const auto& s : (*far).value("aborted_receives", json::array())) done.push_back("aborted receive session " + s.get<std::string>());
  if ((*far).contains("destroyed") && (*far)["destroyed"].is_boolean() && (*far)["destroyed"].get<bool>())
    done.push_back("destroyed " + c->target_dataset + " on " + c->remote.host_label);
  // The primary: the slot.
  {
    auto primary = pg::Connection::connect(a.primary, "primary");
    if (!primary) return primary.status().context("dropping the slot");
    const std::string slot = st.slot.value_or("");
    auto existing = pg::slot_status(*primary, slot);
    if (existing) {
      PGM_RETURN_IF_ERROR(pg::drop_slot(*primary, slot));
      done.push_back("dropped slot '" + slot + "' on the primary");
    } else if (existing.status().code() != Errc::not_found) {
      return existing.status();
    }
  }
  // The source: holds and the migration's snapshots (never anything else).
  zfs::Zfs zfs;
  for (const auto& h : st.holds)
    if (zfs.release(st.tag(), h).ok()) done.push_back("released the hold on " + h);
  for (const auto& full : migration_snapshots(st, args.source)) {
    (void)zfs.release(st.tag(), full);  // a hold taken just before a crash is not in the state yet
    PGM_RETURN_IF_ERROR(zfs.destroy(full));
    done.push_back("destroyed " + full);
  }
  ::unlink(path.c_str());
  done.push_back("removed " + path);
  for (const auto& d : done) std::printf("%s\n", d.c_str());
  return Status::Ok();
}

}  // namespace

void register_migrate(CLI::App& app, CommandFn& selected) {
  auto a = std::make_shared<MigrateArgs>();
  CLI::App* migrate = app.add_subcommand("migrate", "The whole move as one resumable plan: bulk, increments, slot, standby, switchover");
  migrate->require_subcommand(1);

  auto common = [a](CLI::App* cmd) {
    cmd->add_option("--source", a->source, "POOL/FS holding the primary's data directory (and pg_wal)")->required();
    cmd->add_option("--target", a->target, "[user@]host:POOL/FS to create on the new host")->required();
    // Connection strings may hold a password: each can come from the environment instead of
    // the command line, where every user of this host would see it in `ps`.
    cmd->add_option("--primary", a->primary, "Connection string of the primary (from this host)")->envname("PGMIGRATE_PRIMARY")->required();
    cmd->add_option("--standby-port", a->standby_port, "Port for the new server on the target host");
    cmd->add_option("--standby", a->standby, "Connection string of the new server from this host (default: target host, --standby-port)")
        ->envname("PGMIGRATE_STANDBY");
    cmd->add_option("--standby-primary", a->standby_primary,
                    "Connection string the new server uses to reach the primary (default: --primary)")
        ->envname("PGMIGRATE_STANDBY_PRIMARY");
    cmd->add_option("--rounds", a->rounds, "Catch-up incremental sends before the slot is created")->capture_default_str();
    cmd->add_option("--delta-target", a->delta_target, "Stop the rounds once an increment moves less than this")->capture_default_str();
    cmd->add_option("--max-lag", a->max_lag, "Catch-up bound on the standby's replay lag (and switchover's)")->capture_default_str();
    cmd->add_option("--catchup-timeout", a->catchup_timeout, "Give up waiting for catch-up after this long")->capture_default_str();
    cmd->add_flag("--switchover", a->switchover, "Switch over once caught up (otherwise stop, ready, and print the command)");
    cmd->add_flag("--no-switchover", a->no_switchover, "Stop when the standby has caught up");
    cmd->add_option("--fence", a->fence, "Switchover fence: stop or connections")->capture_default_str();
    cmd->add_option("--primary-pgdata", a->primary_pgdata, "The primary's data directory on this host (fence stop with pg_ctl)");
    cmd->add_option("--stop-cmd", a->stop_cmd, "Shell command that stops the primary (fence stop elsewhere)");
    cmd->add_option("--start-cmd", a->start_cmd, "Shell command that starts it again (rollback)");
    cmd->add_option("--pg-bindir", a->bindir, "Directory holding pg_ctl (both hosts)");
    cmd->add_option("--timeout", a->switch_timeout, "Bound on the switchover")->capture_default_str();
    cmd->add_option("--post-hook", a->post_hook, "Command run after promotion (PGM_NEW_PRIMARY_* in its environment)");
    cmd->add_flag("--keep-snapshots", a->keep_snapshots, "Keep the migration snapshots on both sides at clean-up");
    cmd->add_option("--id", a->id, "Name of the migration (default: a new id, or the unfinished one for the same source and target)");
    cmd->add_option("--state-dir", a->state_dir, "Where migration state lives (default: $PGMIGRATE_STATE_DIR, /var/lib/pgmigrate)");
    cmd->add_option("--assume-rate", a->assume_rate, "Rate for plan's time estimates (bytes/s)")->capture_default_str();
    cmd->add_option("--debug-pause-before", a->pause_before, "Testing aid")->group("");
    add_transfer_options(*cmd, a->transfer);
    add_remote_options(*cmd, a->remote);
  };
  CLI::App* run = migrate->add_subcommand("run", "Run (or continue) the migration");
  common(run);
  run->callback([a, &selected] { selected = [a](RunContext& ctx) { return run_migration(ctx, *a); }; });
  CLI::App* plan = migrate->add_subcommand("plan", "Check everything and print the steps with sizes; changes nothing");
  common(plan);
  plan->callback([a, &selected] { selected = [a](RunContext& ctx) { return plan_migration(ctx, *a); }; });

  CLI::App* status = migrate->add_subcommand("status", "Where each migration stands: step, bytes, rate, ETA, slot retention, lag");
  status->add_option("--state-dir", a->state_dir, "Where migration state lives");
  status->add_flag("--json", a->json, "JSON, for monitoring");
  status->callback([a, &selected] { selected = [a](RunContext&) { return status_migrations(*a); }; });

  CLI::App* abort =
      migrate->add_subcommand("abort", "Undo a migration: its slot, holds, snapshots and the partial target (never the source data)");
  abort->add_option("ID", a->id, "The migration id (pgmigrate migrate status)")->required();
  abort->add_option("--primary", a->primary, "Connection string of the primary")->envname("PGMIGRATE_PRIMARY")->required();
  abort->add_option("--state-dir", a->state_dir, "Where migration state lives");
  add_remote_options(*abort, a->remote);
  abort->callback([a, &selected] { selected = [a](RunContext& ctx) { return abort_migration(ctx, *a); }; });
}

}  // namespace pgm::cli
