#include "migrate/tree.h"

#include <algorithm>
#include <atomic>

#include "common/process.h"
#include "migrate/sampler.h"
#include "migrate/target.h"
#include "zfs/zfs.h"

namespace pgm::migrate {

// DATASET@NAME.
std::string snapshot_of(const std::string& dataset, const std::string& name) {
  std::string s = dataset;
  s.append("@").append(name);
  return s;
}

// Creates snapshot `name` of the source tree unless it exists, and holds it on every dataset of
// the tree (so a retention job cannot destroy it while the migration still needs it). A tree is
// snapshotted with -r: one atomic command, so pg_wal and the tablespaces on their own datasets
// are crash-consistent with the data directory.
Status ensure_held_snapshot(const zfs::Zfs& zfs, StateFile& m, const std::string& source, const std::vector<std::string>& tree,
                            const std::string& name) {
  const std::string root = source + "@" + name;
  auto exists = zfs.exists(root);
  if (!exists) return exists.status();
  if (!*exists) PGM_RETURN_IF_ERROR(tree.size() > 1 ? zfs.snapshot_recursive(root) : zfs.snapshot(root));
  for (const auto& fs : tree) {
    const std::string snapshot = snapshot_of(fs, name);
    auto here = zfs.exists(snapshot);
    if (!here) return here.status();
    if (!*here) {
      std::string why = "dataset ";
      why.append(fs).append(" was created after ").append(root);
      why.append(" was taken: the tree must not change during a migration; abort it (pgmigrate migrate abort ");
      why.append(m.snapshot().id).append(") and start again");
      return Status(Errc::invalid_argument, why);
    }
    const bool held = m.read([&](const State& s) { return std::ranges::find(s.holds, snapshot) != s.holds.end(); });
    if (held) continue;
    PGM_RETURN_IF_ERROR(zfs.hold(m.tag(), snapshot));
    PGM_RETURN_IF_ERROR(m.update([&](State& s) { s.holds.push_back(snapshot); }));
  }
  return Status::Ok();
}

// The source tree (spec.source and its descendants) and its sizes, summed over the tree.
Status read_source_tree(const zfs::Zfs& zfs, const std::string& source, Preflight& p) {
  auto exists = zfs.exists(source);
  if (!exists) return exists.status();
  if (!*exists) return Status(Errc::not_found, "source dataset '" + source + "' does not exist");
  auto tree = zfs.filesystems(source);
  if (!tree) return tree.status();
  p.datasets = std::move(*tree);
  for (const auto& fs : p.datasets) {
    auto ref = zfs.referenced(fs);
    if (!ref) return ref.status();
    p.referenced += *ref;
    auto logical = zfs.logical_referenced(fs, *ref);
    if (!logical) return logical.status();
    p.logical += logical->bytes;
    if (p.logical_basis.empty()) p.logical_basis = logical->basis;  // the root's basis (the same zfs for all)
  }
  return Status::Ok();
}

namespace {

// Sends `snapshot` (incremental from `base` when not empty) of one dataset into `target`
// unless the target already has it; through object storage at `via` when that is not empty.
Status send_one(Context& c, StateFile& m, const std::string& step, const Push& push, const std::string& via, std::uint64_t* bytes_out) {
  const std::string short_name = push.snapshot.substr(push.snapshot.find('@') + 1);
  auto probe = run_remote_json(c.remote, probe_command(shell_quote, c.remote.remote_bin(), push.dataset), c.cancel);
  if (!probe) return probe.status();
  if ((*probe).contains("snapshots"))
    for (const auto& s : (*probe)["snapshots"])
      if (s == push.dataset + "@" + short_name) {
        c.say(step, short_name + " of " + push.dataset + " is already on the target");
        return Status::Ok();
      }
  if (!via.empty()) {
    c.say(step, "sending " + push.snapshot + " to " + c.remote.host_label() + ":" + push.dataset + " through " + via +
                    " (the target receives it as it arrives)");
    auto sent = c.remote.relay(push, via, c.cancel);
    if (!sent) return sent.status();
    c.say(step, "the objects stay at " + via + " (a copy of the base snapshot); 'pgmigrate objects rm " + via + "' removes them");
    m.add_bytes(step, *sent);
    *bytes_out += *sent;
    return m.save();
  }
  c.say(step, "sending " + push.snapshot + (push.base.empty() ? "" : " (incremental from " + push.base + ")") + " to " +
                  c.remote.host_label() + ":" + push.dataset);
  std::atomic<std::uint64_t> position{0};
  TransferReporter reporter(m, push.snapshot, position);
  auto sent = c.remote.push(push, position, c.cancel);
  reporter.finish();
  if (!sent) return sent.status();
  m.add_bytes(step, *sent);
  *bytes_out += *sent;
  return m.save();
}

}  // namespace

// Mounts every dataset of the target tree that is not (parents first).
Status mount_target_tree(Context& c) {
  auto far = run_remote_json(c.remote, tree_mounts_command(shell_quote, c.remote.remote_bin(), c.spec.target_dataset, true), c.cancel);
  if (!far) return far.status().context("mounting " + c.spec.target_dataset + "'s tree on " + c.remote.host_label());
  return Status::Ok();
}

// Sends snapshot `name` (incremental from `base`, a snapshot name, when not empty) of every
// dataset of the source tree into the same place under the target dataset, parents first (a
// child is received into its received parent). Each is one verified transfer; through object
// storage when `via` is not empty (the root's upload at `via`, a child's at `via`-wal style).
Status send_step(Context& c, StateFile& m, const std::vector<std::string>& tree, const std::string& step, const std::string& name,
                 const std::string& base, std::uint64_t* bytes_out, const std::string& via) {
  std::uint64_t total = 0;
  for (const auto& fs : tree) {
    const std::string rel = fs.substr(c.spec.source.size());  // "" for the root, "/wal" for a child
    Push push{snapshot_of(fs, name), base.empty() ? "" : snapshot_of(fs, base), c.spec.target_dataset + rel, c.spec.send_flags,
              c.spec.recv_flags};
    push.recv.force = !base.empty() && std::ranges::any_of(tree, [&](const std::string& o) { return o.rfind(fs + "/", 0) == 0; });
    // zfs-fuse: a receive into a parent whose children are mounted leaves their mounts hidden
    // or gone; they are unmounted first and mounted again below.
    if (push.recv.force) {
      auto far = run_remote_json(c.remote, tree_mounts_command(shell_quote, c.remote.remote_bin(), push.dataset, false), c.cancel);
      if (!far) return far.status().context("unmounting the children of " + push.dataset + " on " + c.remote.host_label());
    }
    std::string via_fs = via;
    if (!via.empty() && !rel.empty()) {
      std::string suffix = rel;
      std::ranges::replace(suffix, '/', '-');
      via_fs += suffix;
    }
    PGM_RETURN_IF_ERROR(send_one(c, m, step, push, via_fs, &total));
  }
  if (tree.size() > 1) PGM_RETURN_IF_ERROR(mount_target_tree(c));
  if (bytes_out) *bytes_out = total;
  return Status::Ok();
}

// The snapshot name (after '@') of the last one sent, "" before the first.
std::string short_name(const std::string& snapshot) {
  const std::size_t at = snapshot.find('@');
  return at == std::string::npos ? std::string() : snapshot.substr(at + 1);
}

// The far `pg standby`'s --relink FROM=TO for each dataset of the tree: its mountpoint here and
// the received one's there, so that absolute pg_wal and pg_tblspc/* links (which name the
// source's mountpoints) point into the received tree (pg/relink.h). `target_mountpoint`: the
// target dataset's, already probed.
Result<std::string> relink_args(Context& c, const std::vector<std::string>& tree, const std::string& target_mountpoint) {
  const zfs::Zfs zfs = local_zfs(c.spec);
  std::string out;
  for (const auto& fs : tree) {
    auto from = zfs.get("mountpoint", fs);
    if (!from) return from.status();
    const std::string rel = fs.substr(c.spec.source.size());
    std::string to = target_mountpoint;
    if (!rel.empty()) {
      auto probe = run_remote_json(c.remote, probe_command(shell_quote, c.remote.remote_bin(), c.spec.target_dataset + rel), c.cancel);
      if (!probe) return probe.status();
      to = (*probe).value("mountpoint", std::string());
    }
    // A dataset mounted nowhere holds nothing the server reads (the layout check said so).
    if (from->empty() || (*from)[0] != '/' || to.empty() || to[0] != '/') continue;
    out.append(" --relink ").append(shell_quote(from->append("=").append(to)));
  }
  return out;
}

}  // namespace pgm::migrate
