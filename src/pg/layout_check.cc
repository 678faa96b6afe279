#include "pg/layout_check.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "pg/server_tools.h"
#include "zfs/zfs.h"

namespace pgm::pg {
namespace fs = std::filesystem;
namespace {

bool path_within(const std::string& path, const std::string& dir) {
  if (dir == "/") return !path.empty() && path[0] == '/';
  if (path.size() < dir.size() || path.compare(0, dir.size(), dir) != 0) return false;
  return path.size() == dir.size() || path[dir.size()] == '/';
}

}  // namespace

const MountedDataset* dataset_for_path(const std::vector<MountedDataset>& datasets, const std::string& path) {
  const MountedDataset* best = nullptr;
  for (const auto& d : datasets) {
    if (d.mountpoint.empty() || d.mountpoint[0] != '/') continue;
    if (path_within(path, d.mountpoint) && (best == nullptr || d.mountpoint.size() > best->mountpoint.size())) best = &d;
  }
  return best;
}

LayoutReport judge_layout(const std::vector<std::pair<std::string, std::string>>& what_and_path, const std::vector<MountedDataset>& mounted,
                          const std::vector<std::string>& requested) {
  LayoutReport rep;
  std::vector<std::string> used;
  for (const auto& [what, path] : what_and_path) {
    LayoutItem item{what, path, "", false};
    if (const MountedDataset* d = dataset_for_path(mounted, path)) item.dataset = d->name;
    for (const auto& r : requested) {
      if (item.dataset == r) item.inside = true;
    }
    if (!item.inside) {
      std::string problem = what;
      problem += " " + path + " is ";
      problem += item.dataset.empty() ? std::string("not on any mounted ZFS dataset")
                                      : "on dataset " + item.dataset + ", not on the one(s) to snapshot";
      problem += ": move it into the dataset, or add its dataset with --dataset and snapshot them together (zfs snapshot -r)";
      rep.problems.push_back(std::move(problem));
    } else if (std::find(used.begin(), used.end(), item.dataset) == used.end()) {
      used.push_back(item.dataset);
    }
    rep.items.push_back(std::move(item));
  }
  if (rep.problems.empty() && used.size() > 1) {
    std::string list;
    for (const auto& u : used) list += (list.empty() ? "" : ", ") + u;
    rep.notes.push_back("the cluster spans datasets " + list +
                        ": snapshot them in one atomic command (zfs snapshot -r over a common parent, or one 'zfs snapshot' naming all)");
  }
  return rep;
}

Result<std::vector<MountedDataset>> list_mounted_datasets(const std::string& wrapper) {
  auto run = zfs::Zfs::with_wrapper(wrapper).run({"list", "-H", "-o", "name,mountpoint", "-t", "filesystem"});
  if (!run) return run.status();
  if (!run->success()) {
    if (zfs::is_refusal(run->err)) return zfs::refusal_or_failure("zfs list", run->err);
    return Status(Errc::child_failed, "'zfs list' failed: " + run->err.substr(0, run->err.find('\n')));
  }
  std::vector<MountedDataset> out;
  std::istringstream in(run->out);
  std::string line;
  while (std::getline(in, line)) {
    auto tab = line.find('\t');
    if (tab == std::string::npos) continue;
    out.push_back({line.substr(0, tab), line.substr(tab + 1)});
  }
  return out;
}

Result<LayoutReport> check_layout(Connection& primary, const std::vector<std::string>& datasets, const std::string& wrapper) {
  auto dd = primary.scalar("SELECT current_setting('data_directory')");
  if (!dd) return dd.status().context("reading data_directory (needs a superuser or pg_read_all_settings)");
  std::error_code ec;
  if (!fs::is_directory(*dd, ec))
    return Status(Errc::invalid_argument,
                  "the primary's data directory " + *dd + " is not on this host: run 'pgmigrate pg check' on the primary's host");
  // A normal user sees inside the (0700) data directory only as its owner, through the wrapper.
  auto dir = inspect_data_dir(*dd, wrapper);
  if (!dir && dir.status().code() == Errc::auth) return dir.status();
  if (!dir)
    return Status(Errc::invalid_argument,
                  "the primary's data directory " + *dd + " is not on this host: run 'pgmigrate pg check' on the primary's host");
  std::vector<std::pair<std::string, std::string>> paths;
  auto resolve = [&](const std::string& p) {
    std::error_code e;
    auto c = fs::canonical(p, e);
    return e ? p : c.string();
  };
  paths.emplace_back("data directory", resolve(*dd));
  auto wal = real_path_in(*dir, "pg_wal");
  if (!wal && wal.status().code() == Errc::auth) return wal.status();
  paths.emplace_back("pg_wal", wal ? *wal : *dd + "/pg_wal");
  auto ts = primary.exec("SELECT spcname, pg_tablespace_location(oid) FROM pg_tablespace WHERE spcname NOT IN ('pg_default', 'pg_global')");
  if (!ts) return ts.status();
  for (std::size_t i = 0; i < ts->rows(); ++i) {
    std::string loc = ts->get(i, 1).value_or("");
    if (loc.empty()) continue;  // in-place tablespace (allow_in_place_tablespaces): inside the data dir
    paths.emplace_back("tablespace " + ts->get(i, 0).value_or("?"), resolve(loc));
  }
  auto mounted = list_mounted_datasets(wrapper);
  if (!mounted) return mounted.status();
  LayoutReport rep = judge_layout(paths, *mounted, datasets);

  auto settings = primary.exec(
      "SELECT name, setting FROM pg_settings WHERE name IN ('wal_level', 'max_wal_senders', 'max_replication_slots', "
      "'config_file', 'hba_file', 'max_slot_wal_keep_size', 'wal_keep_size')");
  if (!settings) return settings.status();
  const std::string dd_real = resolve(*dd);
  int used_slots = 0;
  if (auto n = primary.scalar("SELECT count(*) FROM pg_replication_slots")) used_slots = std::atoi(n->c_str());
  for (std::size_t i = 0; i < settings->rows(); ++i) {
    std::string name = settings->get(i, 0).value_or(""), value = settings->get(i, 1).value_or("");
    if (name == "wal_level" && value == "minimal")
      rep.problems.push_back("wal_level is minimal: set wal_level = replica and restart the primary");
    if (name == "max_wal_senders" && std::atoi(value.c_str()) < 1)
      rep.problems.push_back("max_wal_senders is 0: set it to at least 2 and restart the primary");
    if (name == "max_replication_slots" && std::atoi(value.c_str()) <= used_slots)
      rep.problems.push_back("max_replication_slots (" + value + ") are all in use: raise it (restart) or drop an unused slot");
    if ((name == "config_file" || name == "hba_file") && !path_within(resolve(value), dd_real)) {
      std::string note = name;
      note.append(" ").append(value).append(" lies outside the data directory: the new host needs its own copy");
      rep.notes.push_back(std::move(note));
    }
    if (name == "max_slot_wal_keep_size" && value == "-1")
      rep.notes.push_back(
          "max_slot_wal_keep_size is -1 (unlimited): the slot can fill the primary's disk; run 'pgmigrate pg slot watch --wal-limit' "
          "during the transfer");
  }
  return rep;
}

Result<LayoutReport> check_layout(const LayoutCheckSpec& spec) {
  auto c = Connection::connect(spec.primary_conninfo, "primary");
  if (!c) return c.status();
  return check_layout(*c, spec.datasets);
}

Status layout_refusal(const LayoutReport& report) {
  if (report.ok()) return Status::Ok();
  std::string all = report.problems.front();
  if (report.problems.size() > 1) all += " (and " + std::to_string(report.problems.size() - 1) + " more problem(s) listed above)";
  return Status(Errc::postgres, "a snapshot of this layout would not be a consistent standby: " + all);
}

}  // namespace pgm::pg
