// Debian clusters, the effectful half: the target's configuration directory written whole,
// and clusters started and stopped the way postgresql-common expects (debian_cluster.cc holds
// the parsing, the bundle and the rendering).
#include "pg/debian_cluster.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <filesystem>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/elevation.h"
#include "common/errno_text.h"
#include "common/files.h"
#include "pg/auto_conf.h"
#include "pg/server_tools.h"

namespace pgm::pg {

namespace {

Status remove_dir_at(const DirFd& parent, const std::string& name) {
  auto st = parent.stat(name);
  if (!st) return st.status();
  if (!st->has_value()) return Status::Ok();
  if (!S_ISDIR((*st)->st_mode)) {
    auto r = parent.unlink(name);
    return r ? Status::Ok() : r.status();
  }
  auto d = parent.open_dir(name);
  if (!d) return d.status();
  auto removed = d->remove_contents();
  if (!removed) return removed.status();
  if (::unlinkat(parent.get(), name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    return Status(Errc::io, "cannot remove " + parent.child(name) + ": " + errno_text(errno));
  return Status::Ok();
}

Status rename_at(const DirFd& dir, const std::string& from, const std::string& to) {
  if (::renameat(dir.get(), from.c_str(), dir.get(), to.c_str()) != 0)
    return Status(Errc::io, "cannot rename " + dir.child(from) + " to " + to + ": " + errno_text(errno));
  return Status::Ok();
}

}  // namespace

namespace {

// Whether the target cluster exists already: true for the same data directory (a re-run),
// refused for another.
Result<bool> check_target_free(const TargetCluster& target) {
  auto existing = existing_cluster_data_dir(target.id, target.conf_root);
  if (!existing) return existing.status();
  if (!*existing) return false;
  struct stat a {
  }, b{};
  const bool same = **existing == target.pgdata || (!(**existing).empty() && ::stat((**existing).c_str(), &a) == 0 &&
                                                    ::stat(target.pgdata.c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino);
  if (!same)
    return Status(Errc::exists, "Debian cluster " + target.id.str() + " already exists with data directory " +
                                    ((**existing).empty() ? std::string("(none)") : **existing) +
                                    ": choose another --debian-cluster name, or remove it with pg_dropcluster " +
                                    std::to_string(target.id.major) + " " + target.id.name);
  return true;
}

}  // namespace

Result<RenderedConfig> plan_target_cluster(const ConfigBundle& bundle, const TargetCluster& target, const DataDir& data) {
  auto rendered = render_cluster_config(bundle, target, data.major);
  if (!rendered) return rendered.status();
  PGM_RETURN_IF_ERROR(check_target_free(target).status());
  return rendered;
}

Result<WrittenCluster> write_cluster_config(const RenderedConfig& rendered, const TargetCluster& target, const DataDir& data) {
  auto existing = check_target_free(target);
  if (!existing) return existing.status();
  WrittenCluster out;
  out.conf_dir = rendered.conf_dir;
  out.replaced = *existing;
  auto root = DirFd::open(target.conf_root);
  if (!root) return root.status().context("the Debian configuration root (is postgresql-common installed?)");
  std::optional<DirFd::Owner> owner;
  if (::geteuid() == 0) owner = DirFd::Owner{data.owner_uid, data.owner_gid};
  const std::string ver = std::to_string(target.id.major);
  auto made = root->make_dir(ver, 0755, owner);
  if (!made) return made.status();
  auto vdir = root->open_dir(ver);
  if (!vdir) return vdir.status();

  const std::string tmp = "." + target.id.name + ".pgmigrate-tmp";
  const std::string old = "." + target.id.name + ".pgmigrate-old";
  PGM_RETURN_IF_ERROR(remove_dir_at(*vdir, tmp));
  auto cleanup = [&](const Status& s) {
    (void)remove_dir_at(*vdir, tmp);
    return s;
  };
  auto created = vdir->make_dir(tmp, 0755, owner);
  if (!created) return created.status();
  auto tdir = vdir->open_dir(tmp);
  if (!tdir) return cleanup(tdir.status());
  for (const auto& f : rendered.files) {
    const std::string sub = std::filesystem::path(f.path).parent_path().string();
    const std::string leaf = sub.empty() ? f.path : f.path.substr(sub.size() + 1);
    DirFd into;
    if (sub.empty()) {
      auto again = vdir->open_dir(tmp);
      if (!again) return cleanup(again.status());
      into = std::move(*again);
    } else {
      auto m = tdir->make_dir(sub, 0755, owner);
      if (!m) return cleanup(m.status());
      auto s = tdir->open_dir(sub);
      if (!s) return cleanup(s.status());
      into = std::move(*s);
    }
    Status w = into.write_file(leaf, f.content, f.mode & 0777, owner);
    if (!w.ok()) return cleanup(w);
  }
  Status synced = tdir->sync();
  if (!synced.ok()) return cleanup(synced);
  if (out.replaced) {
    PGM_RETURN_IF_ERROR(remove_dir_at(*vdir, old));
    Status moved = rename_at(*vdir, target.id.name, old);
    if (!moved.ok()) return cleanup(moved);
  }
  Status placed = rename_at(*vdir, tmp, target.id.name);
  if (!placed.ok()) {
    if (out.replaced) (void)rename_at(*vdir, old, target.id.name);
    return cleanup(placed);
  }
  if (out.replaced) PGM_RETURN_IF_ERROR(remove_dir_at(*vdir, old));
  PGM_RETURN_IF_ERROR(vdir->sync());
  return out;
}

Status remove_cluster_config(const ClusterId& id, const std::string& conf_root) {
  // Through directory fds that follow no link: VER/ and VER/NAME/ belong to the cluster's owner,
  // who could swap a directory for a link while root removes it.
  auto root = DirFd::open_no_links(conf_root);
  if (!root) return root.status();
  auto ver = root->open_dir(std::to_string(id.major));
  if (!ver) return ver.status();
  return remove_dir_at(*ver, id.name);
}

std::optional<ClusterId> cluster_from_config_file(const std::string& config_file, const std::string& conf_root) {
  const std::string prefix = conf_root + "/";
  const std::string suffix = "/postgresql.conf";
  if (config_file.size() <= prefix.size() + suffix.size() || config_file.compare(0, prefix.size(), prefix) != 0 ||
      !config_file.ends_with(suffix))
    return std::nullopt;
  const std::string mid = config_file.substr(prefix.size(), config_file.size() - prefix.size() - suffix.size());
  if (std::count(mid.begin(), mid.end(), '/') != 1) return std::nullopt;
  auto id = parse_cluster_id(mid);
  if (!id || mid.find('/') != std::to_string(id->major).size()) return std::nullopt;
  return *id;
}

// ---- starting and stopping -----------------------------------------------------------------

bool systemd_runs() {
  struct stat st {};
  return ::lstat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
}

std::string cluster_log_file(const ClusterId& id) {
  return "/var/log/postgresql/postgresql-" + std::to_string(id.major) + "-" + id.name + ".log";
}

ClusterCommand cluster_command(const ClusterId& id, ClusterAction action, bool use_systemd, std::chrono::seconds timeout) {
  const std::string verb = action == ClusterAction::start ? "start" : "stop";
  ClusterCommand c;
  if (use_systemd) {
    c.argv = {"systemctl", verb, id.unit()};
  } else {
    c.argv = {"pg_ctlcluster", std::to_string(id.major), id.name, verb};
    if (action == ClusterAction::stop) {
      c.argv.emplace_back("-m");
      c.argv.emplace_back("fast");
    }
    // pg_ctlcluster passes what follows "--" to pg_ctl: its wait (60s by default; crash recovery
    // of a received copy may take longer) is bounded by ours.
    for (const std::string& a : {std::string("--"), std::string("-t"), std::to_string(std::max<long long>(1, timeout.count()))})
      c.argv.push_back(a);
  }
  for (const auto& a : c.argv) c.describe += (c.describe.empty() ? "" : " ") + a;
  return c;
}

Status control_cluster(const ClusterId& id, ClusterAction action, std::chrono::milliseconds timeout, const CancelToken* cancel,
                       const std::string& wrapper) {
  bool use_systemd = systemd_runs();
  if (use_systemd && action == ClusterAction::stop) {
    // A cluster started by hand (pg_ctlcluster outside systemd) is not the unit's to stop.
    auto active = run_bounded({"systemctl", "is-active", "-q", id.unit()}, std::chrono::seconds(30), cancel);
    use_systemd = active && active->success();
  }
  auto c = cluster_command(id, action, use_systemd, std::chrono::duration_cast<std::chrono::seconds>(timeout));
  auto run = run_bounded(elevated_argv(wrapper, c.argv), timeout + std::chrono::seconds(5), cancel);
  if (!run) return run.status();
  if (run->success()) return Status::Ok();
  if (const std::string said = wrapper_said(run->err); !wrapper.empty() && !run->timed_out && is_wrapper_refusal(wrapper, said))
    return elevation_refused(this_host_name(), wrapper, "'" + c.describe + "'", effective_user_name(), said);
  // pg_ctlcluster stop says 2 ("Cluster is not running"): what a stop wants.
  if (!use_systemd && action == ClusterAction::stop && WIFEXITED(run->wait_status) && WEXITSTATUS(run->wait_status) == 2)
    return Status::Ok();
  return Status(run->timed_out ? Errc::timeout : Errc::child_failed, c.describe + " " + run->describe() + "; see " + cluster_log_file(id));
}

// ---- start.conf --------------------------------------------------------------------------

namespace {

bool start_mode_line(const std::string& line, std::string* word) {
  const auto b = line.find_first_not_of(" \t\r");
  if (b == std::string::npos || line[b] == '#') return false;
  const auto e = line.find_first_of(" \t\r#", b);
  if (word) *word = line.substr(b, e == std::string::npos ? std::string::npos : e - b);
  return true;
}

std::string start_conf_path(const ClusterId& id, const std::string& conf_root) {
  return conf_root + "/" + std::to_string(id.major) + "/" + id.name + "/start.conf";
}

}  // namespace

std::string parse_start_mode(const std::string& text) {
  std::istringstream in(text);
  std::string line, word;
  while (std::getline(in, line))
    if (start_mode_line(line, &word)) return word;
  return "auto";
}

std::string with_start_mode(const std::string& text, const std::string& mode) {
  std::istringstream in(text);
  std::string line, out;
  bool replaced = false;
  while (std::getline(in, line)) {
    if (!replaced && start_mode_line(line, nullptr)) {
      out += mode + "\n";
      replaced = true;
      continue;
    }
    out += line + "\n";
  }
  if (!replaced) out += mode + "\n";
  return out;
}

Result<std::string> read_start_mode(const ClusterId& id, const std::string& conf_root) {
  const std::string path = start_conf_path(id, conf_root);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 && errno == ENOENT) return std::string("auto");
  auto text = read_file(path);
  if (!text) return text.status().context(path);
  return parse_start_mode(*text);
}

Status write_start_mode(const ClusterId& id, const std::string& mode, const std::string& conf_root, const std::string& wrapper) {
  const std::string path = start_conf_path(id, conf_root);
  struct stat st {};
  const bool existed = ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
  std::string text;
  if (existed) {
    auto t = read_file(path);
    if (!t) return t.status().context(path);
    text = *t;
  }
  if (existed && !wrapper.empty() && ::geteuid() != 0 && ::geteuid() != st.st_uid && !user_name_of(st.st_uid).empty())
    return write_file_as(wrapper, user_name_of(st.st_uid), path, with_start_mode(text, mode)).context(path);
  PGM_RETURN_IF_ERROR(write_file_atomic(path, with_start_mode(text, mode), existed ? (st.st_mode & 0777) : 0644).context(path));
  if (existed && ::chown(path.c_str(), st.st_uid, st.st_gid) != 0) return Status(Errc::io, "chown " + path + ": " + errno_text(errno));
  return Status::Ok();
}

}  // namespace pgm::pg
