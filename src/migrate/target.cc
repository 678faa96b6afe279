// `pgmigrate _migrate-target` (target.h): what migrate needs done on the target host.
//   --probe                 ZFS capabilities, pool space, the dataset's state, Postgres tools,
//                           and whether this host can open a replication connection
//   --destroy-snapshots P   destroys DATASET's snapshots whose names start with P (pgmigrate-*)
//   --abort                 stops the standby on --pgdata, removes the Debian cluster configuration
//                           (/etc/postgresql/VER/NAME) whose data_directory is --pgdata, aborts
//                           receives into DATASET, destroys it;
//                           refuses (before stopping anything) when the server there is not a
//                           standby: a promoted server is the new primary
//     --after-fallback      ... except a stopped one: the migration fell back (the near side
//                           checked that the old primary is the primary again), and the fallback's
//                           fence stopped this one; a running primary is still refused
//   --far-log BYTES         the last BYTES of this host's far-half.log (whole lines): the far
//                           halves' log, for `migrate far-log` on the near side
//   --probe-tls-port N      listens for one TLS data connection as a transfer's far half would
//                           (answers {"port","key"} at once, then waits up to 30 s for it)
#include "migrate/target.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/process.h"
#include "journal/journal.h"
#include "pg/connection.h"
#include "pg/control_state.h"
#include "pg/debian_cluster.h"
#include "pg/server_tools.h"
#include "transport/tls.h"
#include "zfs/zfs.h"

namespace pgm::migrate {
namespace {

using nlohmann::json;

Result<json> probe(const TargetRequest& a) {
  zfs::Zfs zfs;
  json out;
  auto caps = zfs.capabilities();
  if (!caps) return caps.status();
  out["zfs"] = caps->describe();
  out["recv_resumable"] = caps->recv_resumable;
  // What the migration's receive flags (-u, --recv-set, --recv-exclude) need: the plan refuses
  // them here rather than at the first send.
  out["recv_no_mount"] = caps->recv_no_mount;
  out["recv_set_props"] = caps->recv_set_props;
  out["recv_exclude_props"] = caps->recv_exclude_props;
  const std::string pool = a.dataset.substr(0, a.dataset.find('/'));
  auto pool_exists = zfs.exists(pool);
  out["pool_exists"] = pool_exists && *pool_exists;
  if (pool_exists && *pool_exists) {
    if (auto avail = zfs.get("available", pool)) out["pool_available"] = std::strtoull(avail->c_str(), nullptr, 10);
    if (auto mp = zfs.get("mountpoint", pool)) out["pool_mountpoint"] = *mp;  // where a new dataset lands
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
  return out;
}

// --tree-mounts: see TargetRequest. Answers the datasets it changed, {"mounted": [...]} or
// {"unmounted": [...]}.
Result<json> tree_mounts(const TargetRequest& a) {
  if (a.tree_mounts != "mount" && a.tree_mounts != "unmount") return Status(Errc::invalid_argument, "--tree-mounts takes mount or unmount");
  const bool mount = a.tree_mounts == "mount";
  zfs::Zfs zfs;
  auto tree = zfs.filesystems(a.dataset);
  if (!tree) return tree.status();
  json changed = json::array();
  auto is_mounted = [&](const std::string& fs) -> Result<bool> {
    auto v = zfs.get("mounted", fs);
    if (!v) return v.status();
    return *v == "yes";
  };
  // Unmounts what is mounted below DATASET (and DATASET itself when `root`), deepest first.
  auto unmount_all = [&](bool root) -> Status {
    for (auto it = tree->rbegin(); it != tree->rend(); ++it) {
      if (*it == a.dataset && !root) continue;
      auto m = is_mounted(*it);
      if (!m) return m.status();
      if (!*m) continue;
      PGM_RETURN_IF_ERROR(zfs.unmount(*it));
      changed.push_back(*it);
    }
    return Status::Ok();
  };
  if (!mount) {
    PGM_RETURN_IF_ERROR(unmount_all(false));
    return json{{"unmounted", changed}};
  }
  bool all = true;
  for (const auto& fs : *tree) {
    auto m = is_mounted(fs);
    if (!m) return m.status();
    all = all && *m;
  }
  if (all) return json{{"mounted", changed}};
  // After a receive into the parent, its mount holds stale entries where the children's
  // mountpoints were ("failed to create mountpoint"): the whole tree is mounted afresh.
  PGM_RETURN_IF_ERROR(unmount_all(true));
  changed = json::array();
  for (const auto& fs : *tree) {
    PGM_RETURN_IF_ERROR(zfs.mount(fs));
    changed.push_back(fs);
  }
  return json{{"mounted", changed}};
}

Result<json> destroy_snapshots(const TargetRequest& a) {
  // Only snapshots this tool named: never anything else on the target.
  if (a.destroy_prefix.rfind("pgmigrate-", 0) != 0)
    return Status(Errc::invalid_argument, "refusing to destroy snapshots not named pgmigrate-*");
  zfs::Zfs zfs;
  json destroyed = json::array();
  // The dataset and its descendants: a cluster on a tree of datasets (pg_wal, tablespaces) was
  // received as the same tree.
  auto tree = zfs.filesystems(a.dataset);
  if (!tree) return tree.status();
  const std::string tag = a.destroy_prefix.substr(0, a.destroy_prefix.size() - 1);  // pgmigrate-<id>
  for (const auto& fs : *tree) {
    auto snaps = zfs.snapshots(fs);
    if (!snaps) return snaps.status();
    for (const auto& snap : *snaps) {
      if (snap.rfind(fs + "@" + a.destroy_prefix, 0) != 0) continue;
      (void)zfs.release(tag, snap);  // received snapshots carry no hold; this is for safety
      PGM_RETURN_IF_ERROR(zfs.destroy(snap));
      destroyed.push_back(snap);
    }
  }
  return json{{"destroyed", destroyed}};
}

// `abort` must never stop or destroy a promoted server: it holds every write since the
// switchover (done by hand with `pg switchover`, or by a `migrate run` killed before it could
// record it). Refuses unless the server in --pgdata is a standby (pg::assess_server_role).
Status refuse_unless_standby(const TargetRequest& a, const pg::ServerRole& role, bool after_stop) {
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

// The trailing '/' aside, the same path.
std::string without_trailing_slash(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

Result<json> abort_target(const TargetRequest& a, CancelToken& cancel) {
  json out{{"stopped_postgres", false}, {"aborted_receives", json::array()}, {"destroyed", false}};
  if (!a.pgdata.empty()) {
    // Decided before anything is stopped: a primary stopped by mistake is an outage even if
    // nothing is destroyed after.
    auto role = pg::assess_server_role(a.pgdata);
    if (!role) return role.status().context("checking the server in " + a.pgdata + " before destroying " + a.dataset);
    // After a fallback the server here is the stopped former primary, its writes all on the old
    // primary's new timeline; one that runs again takes writes of its own and is kept.
    if (!a.after_fallback || role->running) PGM_RETURN_IF_ERROR(refuse_unless_standby(a, *role, false));
    if (role->running) {
      auto dir = pg::inspect_data_dir(a.pgdata);
      if (!dir) return dir.status();
      auto prefix = pg::run_as_owner_prefix(*dir);
      if (!prefix) return prefix.status();
      std::vector<std::string> argv = *prefix;
      argv.push_back(pg::find_pg_program("pg_ctl", dir->major));
      for (const char* x : {"-D", a.pgdata.c_str(), "-m", "fast", "-w", "-t", "60", "stop"}) argv.emplace_back(x);
      auto r = pg::run_bounded(argv, std::chrono::seconds(90), &cancel);
      if (!r || !r->success())
        return Status(Errc::child_failed, "cannot stop the standby in " + a.pgdata + ": " + (r ? r->describe() : r.status().message()));
      out["stopped_postgres"] = true;
      // A promotion between the check and the stop (pg_ctl promote, a switchover elsewhere)
      // shows in what the stopped server left: "shut down", no standby.signal.
      auto stopped = pg::assess_server_role(a.pgdata);
      if (!stopped) return stopped.status().context("checking the stopped server in " + a.pgdata);
      PGM_RETURN_IF_ERROR(refuse_unless_standby(a, *stopped, true));
    }
    auto removed = remove_debian_clusters(a.pgdata, pg::kDebianConfRoot);
    if (!removed) return removed.status();
    out["removed_clusters"] = *removed;
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
    if (!cancel.wait_for(std::chrono::milliseconds(200))) return cancel.reason();
  }
  return out;
}

// The TLS data path, tried the way a transfer uses it: a listener with a fresh key on the
// address SSH reached us at; the plan connects to it from the source host.
Status probe_tls(const TargetRequest& a, CancelToken& cancel, const std::function<void(const json&)>& listening) {
  auto key = transport::TlsKey::generate();
  if (!key) return key.status();
  auto l = transport::TlsListener::listen(transport::ssh_server_address(), a.probe_tls_port, *key);
  if (!l) return l.status().context("--tls-port");
  listening(json{{"port", l->port()}, {"key", key->hex()}});
  // Up to 30 s, but no longer than the plan that asked is there: it closes our stdin when it
  // gives up (a blocked port), and then nothing will come.
  Result<UniqueFd> fd = Status(Errc::timeout, "no TLS connection came within 30 s");
  for (int tick = 0; tick < 150 && !fd && fd.status().code() == Errc::timeout; ++tick) {
    fd = l->accept(cancel, 200);
    pollfd in{0, POLLIN, 0};
    char c = 0;
    if (!fd && ::poll(&in, 1, 0) == 1 && ::read(0, &c, 1) <= 0) return Status(Errc::network, "the plan stopped waiting for the TLS probe");
  }
  if (!fd) return fd.status().code() == Errc::timeout ? Status(Errc::timeout, "no TLS connection came within 30 s") : fd.status();
  auto tls = l->handshake(std::move(*fd), std::chrono::steady_clock::now() + std::chrono::seconds(30), cancel);
  if (!tls) return tls.status();
  (void)(*tls)->wait_exit();
  return Status::Ok();
}

}  // namespace

std::string probe_command(const Quote& q, const std::string& bin, const std::string& dataset, int pg_major, const std::string& bindir) {
  std::string cmd = q(bin) + " " + kTargetCommand + " --probe --dataset " + q(dataset);
  if (pg_major > 0) cmd += " --pg-major " + std::to_string(pg_major) + (bindir.empty() ? "" : " --pg-bindir " + q(bindir));
  return cmd;
}

std::string destroy_snapshots_command(const Quote& q, const std::string& bin, const std::string& dataset, const std::string& prefix) {
  return q(bin) + " " + kTargetCommand + " --dataset " + q(dataset) + " --destroy-snapshots " + q(prefix);
}

std::string abort_command(const Quote& q, const std::string& bin, const std::string& dataset, const std::string& pgdata,
                          bool after_fallback) {
  return q(bin) + " " + kTargetCommand + " --abort --dataset " + q(dataset) + (pgdata.empty() ? "" : " --pgdata " + q(pgdata)) +
         (after_fallback ? " --after-fallback" : "");
}

std::string far_log_command(const Quote& q, const std::string& bin, const std::string& dataset, std::uint64_t tail) {
  return q(bin) + " " + kTargetCommand + " --dataset " + q(dataset) + " --far-log " + std::to_string(tail);
}

std::string tree_mounts_command(const Quote& q, const std::string& bin, const std::string& dataset, bool mount) {
  return q(bin) + " " + kTargetCommand + " --dataset " + q(dataset) + " --tree-mounts " + (mount ? "mount" : "unmount");
}

std::string probe_tls_command(const Quote& q, const std::string& bin, const std::string& dataset, int port) {
  return q(bin) + " " + kTargetCommand + " --dataset " + q(dataset) + " --probe-tls-port " + std::to_string(port);
}

// pg_lsclusters would list such a cluster with no data directory once the dataset is gone.
Result<std::vector<std::string>> remove_debian_clusters(const std::string& pgdata, const std::string& conf_root) {
  namespace fs = std::filesystem;
  std::vector<std::string> removed;
  std::error_code ec;
  if (!fs::is_directory(conf_root, ec)) return removed;  // no postgresql-common here
  for (const auto& ver : fs::directory_iterator(conf_root, ec)) {
    std::error_code ec2;
    if (!ver.is_directory(ec2) || ver.is_symlink(ec2)) continue;
    for (const auto& dir : fs::directory_iterator(ver.path(), ec2)) {
      auto id = pg::parse_cluster_id(ver.path().filename().string() + "/" + dir.path().filename().string());
      std::error_code ec3;
      if (!id || dir.is_symlink(ec3) || !dir.is_directory(ec3)) continue;
      auto dd = pg::existing_cluster_data_dir(*id, conf_root);
      if (!dd || !*dd || (*dd)->empty() || without_trailing_slash(**dd) != without_trailing_slash(pgdata)) continue;
      if (Status rm = pg::remove_cluster_config(*id, conf_root); !rm.ok()) return rm.context("Debian cluster " + id->str());
      removed.push_back(id->str());
    }
  }
  return removed;
}

// The tail of the far halves' log on this host. Its current file only: a rotation moves the
// older lines to far-half.log.1, which stays there.
Result<json> far_log(const TargetRequest& r) {
  const std::string path = journal::state_dir_path("") + "/" + journal::kFarLogName;
  json out{{"far_log_path", path}, {"far_log_size", std::uint64_t{0}}, {"far_log", ""}};
  std::ifstream in(path, std::ios::binary);
  if (!in) return out;  // no far half has run here yet
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::uint64_t>(std::max<std::streamoff>(0, in.tellg()));
  const std::uint64_t tail = std::min({r.far_log, size, kMaxFarLogTail});
  in.seekg(static_cast<std::streamoff>(size - tail));
  std::string text(tail, '\0');
  in.read(text.data(), static_cast<std::streamsize>(tail));
  text.resize(static_cast<std::size_t>(in.gcount()));
  // Whole lines: the cut falls inside one unless it is the file's start.
  if (tail < size) text.erase(0, std::min(text.size(), text.find('\n') + 1));
  out["far_log_size"] = size;
  out["far_log"] = text;
  return out;
}

Result<json> run_target(const TargetRequest& r, CancelToken& cancel, const std::function<void(const json&)>& listening) {
  PGM_RETURN_IF_ERROR(zfs::validate_dataset(r.dataset));
  if (r.probe) return probe(r);
  if (!r.destroy_prefix.empty()) return destroy_snapshots(r);
  if (r.abort) return abort_target(r, cancel);
  if (r.far_log > 0) return far_log(r);
  if (!r.tree_mounts.empty()) return tree_mounts(r);
  if (r.probe_tls_port >= 0) {
    PGM_RETURN_IF_ERROR(probe_tls(r, cancel, listening));
    return json();
  }
  return Status(Errc::invalid_argument, std::string(kTargetCommand) + ": nothing to do");
}

}  // namespace pgm::migrate
