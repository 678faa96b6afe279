#include "common/dir_fd.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "common/errno_text.h"

namespace pgm {
namespace {

constexpr int kMaxDepth = 32;

// Names passed to the *at() calls must be one component: "a/b" would resolve "a" by following
// a link, and ".." would leave the directory.
Status check_name(const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos || name.find('\0') != std::string::npos)
    return Status(Errc::internal, "'" + printable(name) + "' is not a single file name");
  return Status::Ok();
}

Status link_refusal(const std::string& where, const std::string& target) {
  return Status(Errc::invalid_argument,
                where + " is a symbolic link (to " + target + "); pgmigrate does not follow it: remove it and run again");
}

std::string readlink_at(int dirfd, const std::string& name) {
  char buf[4096];
  ssize_t n = ::readlinkat(dirfd, name.c_str(), buf, sizeof buf);
  if (n < 0) return "?";
  return printable(std::string(buf, static_cast<std::size_t>(n)));
}

// Directories that cannot be fsynced (some FUSE filesystems say EINVAL) are accepted as Postgres
// accepts them: the entries are as durable as that filesystem makes them.
Status fsync_dir(int fd, const std::string& path) {
  if (::fsync(fd) != 0 && errno != EINVAL && errno != EROFS) return Status(Errc::io, "cannot fsync " + path + ": " + errno_text(errno));
  return Status::Ok();
}

}  // namespace

std::string printable(const std::string& s, std::size_t max) {
  std::string out = s.size() > max ? s.substr(0, max) : s;
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
  }
  if (s.size() > max) out += "...";
  return out;
}

std::string DirFd::child(const std::string& name) const { return printable(path_, 1024) + "/" + printable(name); }

Result<DirFd> DirFd::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    if (e == ENOENT || e == ENOTDIR) return Status(Errc::not_found, printable(path, 1024) + " is not a directory: " + errno_text(e));
    return Status(Errc::io, "cannot open " + printable(path, 1024) + ": " + errno_text(e));
  }
  return DirFd(UniqueFd(fd), path);
}

Result<DirFd> DirFd::open_no_links(const std::string& path, std::string* link) {
  if (path.empty() || path[0] != '/') return Status(Errc::internal, "'" + printable(path, 1024) + "' is not an absolute path");
  int root = ::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return Status(Errc::io, std::string("cannot open /: ") + errno_text(errno));
  DirFd cur(UniqueFd(root), "");
  std::string walked;  // the components opened so far, for messages
  std::size_t pos = 0;
  while (pos < path.size()) {
    std::size_t next = path.find('/', pos);
    if (next == std::string::npos) next = path.size();
    const std::string part = path.substr(pos, next - pos);
    pos = next + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..")
      return Status(Errc::invalid_argument, printable(path, 1024) + " contains '..': give the data directory's path without it");
    std::string here = walked;
    here += '/';
    here += part;
    int fd = ::openat(cur.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      const int e = errno;
      struct stat st {};
      if ((e == ELOOP || e == ENOTDIR) && ::fstatat(cur.get(), part.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
        if (link != nullptr) *link = here;
        return link_refusal(printable(here, 1024), readlink_at(cur.get(), part));
      }
      if (e == ENOENT || e == ENOTDIR) return Status(Errc::not_found, printable(here, 1024) + " is not a directory: " + errno_text(e));
      return Status(Errc::io, "cannot open " + printable(here, 1024) + ": " + errno_text(e));
    }
    cur = DirFd(UniqueFd(fd), here);
    walked = here;
  }
  cur.path_ = walked.empty() ? "/" : walked;
  return cur;
}

Result<DirFd> DirFd::open_dir(const std::string& name) const {
  PGM_RETURN_IF_ERROR(check_name(name));
  int fd = ::openat(get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    struct stat st {};
    if ((e == ELOOP || e == ENOTDIR) && ::fstatat(get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
      return link_refusal(child(name), link_target(name));
    if (e == ENOENT) return Status(Errc::not_found, child(name) + " does not exist");
    if (e == ENOTDIR) return Status(Errc::invalid_argument, child(name) + " is not a directory: remove it and run again");
    return Status(Errc::io, "cannot open " + child(name) + ": " + errno_text(e));
  }
  return DirFd(UniqueFd(fd), path_ + "/" + name);
}

Result<std::optional<struct stat>> DirFd::stat(const std::string& name) const {
  PGM_RETURN_IF_ERROR(check_name(name));
  struct stat st {};
  if (::fstatat(get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return std::optional<struct stat>();
    return Status(Errc::io, "cannot stat " + child(name) + ": " + errno_text(errno));
  }
  return std::optional<struct stat>(st);
}

std::string DirFd::link_target(const std::string& name) const { return readlink_at(get(), name); }

Result<bool> DirFd::unlink(const std::string& name) const {
  PGM_RETURN_IF_ERROR(check_name(name));
  if (::unlinkat(get(), name.c_str(), 0) == 0) return true;
  const int e = errno;
  if (e == ENOENT) return false;
  if (e == EISDIR)
    return Status(Errc::invalid_argument, child(name) + " is a directory where a file was expected: remove it and run again");
  return Status(Errc::io, "cannot remove " + child(name) + ": " + errno_text(e));
}

Result<std::vector<std::string>> DirFd::names() const {
  std::vector<std::string> names;
  int dup = ::fcntl(get(), F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return Status(Errc::io, "cannot read " + printable(path_, 1024) + ": " + errno_text(errno));
  DIR* d = ::fdopendir(dup);
  if (d == nullptr) {
    const int e = errno;
    ::close(dup);
    return Status(Errc::io, "cannot read " + printable(path_, 1024) + ": " + errno_text(e));
  }
  ::rewinddir(d);  // the duplicate shares the offset of any earlier read of this descriptor
  for (;;) {
    errno = 0;
    const dirent* ent = ::readdir(d);  // NOLINT(concurrency-mt-unsafe): one directory stream per call
    if (ent == nullptr) {
      const int e = errno;
      ::closedir(d);
      if (e != 0) return Status(Errc::io, "cannot read " + printable(path_, 1024) + ": " + errno_text(e));
      break;
    }
    const std::string n = ent->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  return names;
}

Status DirFd::remove_all_in(dev_t dev, int depth, std::vector<std::string>* top) const {
  // Names first, removals after: a directory stream is not meant to be read while it changes.
  auto listed = names();
  if (!listed) return listed.status();
  for (const auto& name : *listed) {
    auto st = stat(name);
    if (!st) return st.status();
    if (!st->has_value()) continue;
    if (S_ISDIR((*st)->st_mode)) {
      // Another filesystem mounted here is not part of what was received: never empty it.
      if ((*st)->st_dev != dev)
        return Status(Errc::invalid_argument, child(name) + " is another filesystem mounted here: unmount it and run again");
      if (depth >= kMaxDepth)
        return Status(Errc::invalid_argument,
                      child(name) + " is nested more than " + std::to_string(kMaxDepth) + " directories deep: remove it and run again");
      auto sub = open_dir(name);
      if (!sub) return sub.status();
      struct stat opened {};
      if (::fstat(sub->get(), &opened) != 0 || opened.st_dev != (*st)->st_dev || opened.st_ino != (*st)->st_ino)
        return Status(Errc::io, child(name) + " changed while it was being removed: run again");
      PGM_RETURN_IF_ERROR(sub->remove_all_in(dev, depth + 1, nullptr));
      if (::unlinkat(get(), name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
        return Status(Errc::io, "cannot remove " + child(name) + ": " + errno_text(errno));
    } else {
      auto removed = unlink(name);  // a link inside is removed here, whatever it points to
      if (!removed) return removed.status();
    }
    if (top != nullptr) top->push_back(printable(name));
  }
  return Status::Ok();
}

Result<std::vector<std::string>> DirFd::remove_contents() const {
  struct stat self {};
  if (::fstat(get(), &self) != 0) return Status(Errc::io, "cannot stat " + printable(path_, 1024) + ": " + errno_text(errno));
  std::vector<std::string> top;
  PGM_RETURN_IF_ERROR(remove_all_in(self.st_dev, 0, &top));
  PGM_RETURN_IF_ERROR(sync());
  return top;
}

Result<bool> DirFd::make_dir(const std::string& name, mode_t mode, const std::optional<Owner>& owner) const {
  PGM_RETURN_IF_ERROR(check_name(name));
  if (::mkdirat(get(), name.c_str(), 0700) != 0) {
    if (errno == EEXIST) return false;
    return Status(Errc::io, "cannot create " + child(name) + ": " + errno_text(errno));
  }
  auto sub = open_dir(name);
  if (!sub) return sub.status();
  if (owner && ::fchown(sub->get(), owner->uid, owner->gid) != 0)
    return Status(Errc::io, "cannot chown " + child(name) + ": " + errno_text(errno));
  if (::fchmod(sub->get(), mode) != 0) return Status(Errc::io, "cannot chmod " + child(name) + ": " + errno_text(errno));
  PGM_RETURN_IF_ERROR(sync());
  return true;
}

Result<std::string> DirFd::read_file(const std::string& name, std::size_t max_bytes, bool tail) const {
  // lstat first: opening a FIFO would block and opening a device can act on it, so only a
  // regular file is ever opened.
  auto st = stat(name);
  if (!st) return st.status();
  if (!st->has_value()) return Status(Errc::not_found, "cannot read " + child(name) + ": " + errno_text(ENOENT));
  if (S_ISLNK((*st)->st_mode)) return link_refusal(child(name), link_target(name));
  if (!S_ISREG((*st)->st_mode)) return Status(Errc::invalid_argument, child(name) + " is not a regular file: remove it and run again");
  int raw = ::openat(get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (raw < 0) {
    const int e = errno;
    if (e == ELOOP) return link_refusal(child(name), link_target(name));
    return Status(e == ENOENT ? Errc::not_found : Errc::io, "cannot read " + child(name) + ": " + errno_text(e));
  }
  UniqueFd fd(raw);
  struct stat opened {};
  if (::fstat(fd.get(), &opened) != 0) return Status(Errc::io, "cannot stat " + child(name) + ": " + errno_text(errno));
  if (!S_ISREG(opened.st_mode) || opened.st_dev != (*st)->st_dev || opened.st_ino != (*st)->st_ino)
    return Status(Errc::io, child(name) + " changed while it was being read: run again");
  const auto size = static_cast<std::size_t>(opened.st_size);
  off_t off = 0;
  if (size > max_bytes) {
    if (!tail) return Status(Errc::invalid_argument, child(name) + " is larger than " + std::to_string(max_bytes) + " bytes");
    off = static_cast<off_t>(size - max_bytes);
  }
  std::string out;
  char buf[65536];
  while (out.size() < max_bytes) {
    const std::size_t want = std::min(sizeof buf, max_bytes - out.size());
    ssize_t n = ::pread(fd.get(), buf, want, off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status(Errc::io, "cannot read " + child(name) + ": " + errno_text(errno));
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    off += n;
  }
  return out;
}

Status DirFd::write_file(const std::string& name, const std::string& content, mode_t mode, const std::optional<Owner>& owner) const {
  PGM_RETURN_IF_ERROR(check_name(name));
  const std::string tmp = name + ".pgmigrate-tmp";
  // A stale temporary name may be anything, a planted link included: unlinkat removes the link
  // itself, and O_EXCL|O_NOFOLLOW then guarantees that the file written is one we just created.
  if (::unlinkat(get(), tmp.c_str(), 0) != 0 && errno != ENOENT) {
    const int e = errno;
    return Status(e == EISDIR ? Errc::invalid_argument : Errc::io,
                  "cannot remove the stale temporary file " + child(tmp) + ": " + errno_text(e) + ": remove it and run again");
  }
  int raw = ::openat(get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (raw < 0) return Status(Errc::io, "cannot create " + child(tmp) + ": " + errno_text(errno));
  UniqueFd fd(raw);
  auto failed = [&](const std::string& what, int e) {
    fd.reset();
    (void)::unlinkat(get(), tmp.c_str(), 0);
    return Status(Errc::io, what + " " + child(tmp) + ": " + errno_text(e));
  };
  std::size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd.get(), content.data() + off, content.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failed("cannot write", errno);
    off += static_cast<std::size_t>(n);
  }
  if (owner && ::fchown(fd.get(), owner->uid, owner->gid) != 0) return failed("cannot chown", errno);
  if (::fchmod(fd.get(), mode) != 0) return failed("cannot chmod", errno);
  if (::fsync(fd.get()) != 0) return failed("cannot fsync", errno);
  if (::close(fd.release()) != 0) return failed("cannot write", errno);
  // rename replaces the entry `name`, whatever it is (a link is replaced, not followed).
  if (::renameat(get(), tmp.c_str(), get(), name.c_str()) != 0) {
    const int e = errno;
    (void)::unlinkat(get(), tmp.c_str(), 0);
    return Status(Errc::io, "cannot rename " + child(tmp) + " to " + printable(name) + ": " + errno_text(e));
  }
  return sync();
}

Status DirFd::sync() const { return fsync_dir(get(), printable(path_, 1024)); }

}  // namespace pgm
