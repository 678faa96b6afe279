#include "pg/relink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>

#include "common/dir_fd.h"
#include "common/errno_text.h"

namespace pgm::pg {
namespace {

// Whether `path` is `dir` or lies below it (whole path components).
bool path_within(const std::string& path, const std::string& dir) {
  if (dir == "/") return !path.empty() && path[0] == '/';
  if (path.size() < dir.size() || path.compare(0, dir.size(), dir) != 0) return false;
  return path.size() == dir.size() || path[dir.size()] == '/';
}

std::string strip_trailing_slashes(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

Result<std::string> read_link_at(const DirFd& dir, const std::string& name) {
  std::string buf(4096, '\0');
  const ssize_t n = ::readlinkat(dir.get(), name.c_str(), buf.data(), buf.size());
  if (n < 0) return Status(Errc::io, "cannot read the link " + dir.child(name) + ": " + errno_text(errno));
  if (static_cast<std::size_t>(n) >= buf.size()) return Status(Errc::invalid_argument, dir.child(name) + " is a link too long to read");
  buf.resize(static_cast<std::size_t>(n));
  return buf;
}

// One link to change: the directory holding it, its name, where it points and where it will.
struct Change {
  const DirFd* dir;
  std::string name, from, to;
};

// The new target must be a directory of the data directory's owner, reached without a link (a
// planted link in the received tree must not make the server, or us, write elsewhere).
Status check_new_target(const DataDir& owner, const Change& c) {
  std::string link;
  auto target = DirFd::open_no_links(c.to, &link);
  if (!target) {
    if (!link.empty())
      return Status(Errc::invalid_argument, c.dir->child(c.name) + " would point to " + printable(c.to, 1024) + ", but " +
                                                printable(link, 1024) + " is a symbolic link: refusing to follow it");
    return target.status().context(c.dir->child(c.name) + " would point to " + printable(c.to, 1024) +
                                   ", which the received datasets do not hold");
  }
  struct stat st {};
  if (::fstat(target->get(), &st) != 0) return Status(Errc::io, "cannot stat " + printable(c.to, 1024) + ": " + errno_text(errno));
  if (st.st_uid != owner.owner_uid)
    return Status(Errc::invalid_argument, printable(c.to, 1024) + " is owned by uid " + std::to_string(st.st_uid) +
                                              ", not by the data directory's owner (uid " + std::to_string(owner.owner_uid) +
                                              "): refusing to point " + c.dir->child(c.name) + " there");
  return Status::Ok();
}

Status replace_link(const Change& c) {
  const std::string tmp = c.name + ".pgmigrate-tmp";
  if (::unlinkat(c.dir->get(), tmp.c_str(), 0) != 0 && errno != ENOENT)
    return Status(Errc::io, "cannot remove " + c.dir->child(tmp) + ": " + errno_text(errno));
  if (::symlinkat(c.to.c_str(), c.dir->get(), tmp.c_str()) != 0)
    return Status(Errc::io, "cannot create the link " + c.dir->child(tmp) + ": " + errno_text(errno));
  if (::renameat(c.dir->get(), tmp.c_str(), c.dir->get(), c.name.c_str()) != 0)
    return Status(Errc::io, "cannot rename " + c.dir->child(tmp) + " over " + c.dir->child(c.name) + ": " + errno_text(errno));
  return c.dir->sync();
}

// The change for the link `name` in `dir`, or none when it needs none (not a link, relative, or
// already relocated).
Result<std::optional<Change>> plan_change(const DirFd& dir, const std::string& name, const std::vector<Relocation>& moves) {
  auto st = dir.stat(name);
  if (!st) return st.status();
  if (!st->has_value() || !S_ISLNK((*st)->st_mode)) return std::optional<Change>();
  auto link = read_link_at(dir, name);
  if (!link) return link.status();
  if (link->empty() || (*link)[0] != '/') return std::optional<Change>();
  auto to = relocate_link(*link, moves);
  if (!to) return to.status().context(dir.child(name));
  if (*to == *link) return std::optional<Change>();
  return std::optional<Change>(Change{&dir, name, *link, *to});
}

}  // namespace

Result<Relocation> parse_relocation(const std::string& text) {
  const std::size_t eq = text.find('=');
  if (eq == std::string::npos)
    return Status(Errc::invalid_argument, "--relink '" + printable(text) + "': expected FROM=TO, two absolute paths");
  Relocation r{strip_trailing_slashes(text.substr(0, eq)), strip_trailing_slashes(text.substr(eq + 1))};
  if (r.from.empty() || r.from[0] != '/' || r.to.empty() || r.to[0] != '/')
    return Status(Errc::invalid_argument, "--relink '" + printable(text) + "': both FROM and TO must be absolute paths");
  return r;
}

Result<std::string> relocate_link(const std::string& link, const std::vector<Relocation>& moves) {
  const Relocation* best = nullptr;
  for (const auto& m : moves)
    if (path_within(link, m.from) && (best == nullptr || m.from.size() > best->from.size())) best = &m;
  if (best != nullptr) return best->to + link.substr(best->from.size());
  for (const auto& m : moves)
    if (path_within(link, m.to)) return link;
  return Status(Errc::invalid_argument,
                "points to " + printable(link, 1024) +
                    ", outside every migrated dataset: move it into the dataset tree on the source (docs/usage.md)");
}

Result<std::vector<std::string>> relink_data_dir(const DataDir& dir, const std::vector<Relocation>& moves) {
  auto d = open_data_dir(dir);
  if (!d) return d.status();
  std::vector<Change> changes;
  auto wal = plan_change(*d, "pg_wal", moves);
  if (!wal) return wal.status();
  if (*wal) changes.push_back(std::move(**wal));
  std::optional<DirFd> tblspc;
  if (auto st = d->stat("pg_tblspc"); st && st->has_value()) {
    auto opened = d->open_dir("pg_tblspc");  // a link there is refused
    if (!opened) return opened.status();
    tblspc = std::move(*opened);
    auto names = tblspc->names();
    if (!names) return names.status();
    for (const auto& name : *names) {
      auto c = plan_change(*tblspc, name, moves);
      if (!c) return c.status();
      if (*c) changes.push_back(std::move(**c));
    }
  } else if (!st) {
    return st.status();
  }
  for (const auto& c : changes) PGM_RETURN_IF_ERROR(check_new_target(dir, c));
  std::vector<std::string> done;
  for (const auto& c : changes) {
    PGM_RETURN_IF_ERROR(replace_link(c));
    done.push_back(c.dir->child(c.name) + " -> " + printable(c.to, 1024) + " (was " + printable(c.from, 1024) + ")");
  }
  return done;
}

}  // namespace pgm::pg
