// A directory held open by descriptor, with the entries in it reached relative to that
// descriptor and never through a symbolic link. For directories whose contents someone else
// chose (a Postgres data directory received from another host, where the source's postgres
// user could plant links): a planted link must never make us read, write, chown or delete
// anything outside, and a planted FIFO or device must never make us hang or open it.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "common/fd.h"
#include "pgmigrate/status.h"

namespace pgm {

// `s` with control characters replaced by '?' and cut at `max` bytes: names chosen by someone
// else go into one-line messages and reports, and a newline in one must not forge a line.
std::string printable(const std::string& s, std::size_t max = 200);

class DirFd {
 public:
  struct Owner {
    uid_t uid = 0;
    gid_t gid = 0;
  };

  DirFd() = default;

  // Opens `path` as given: symbolic links in it are followed (the operator chose them).
  static Result<DirFd> open(const std::string& path);
  // Opens the absolute `path` one component at a time with O_NOFOLLOW, so a link anywhere in it
  // is refused. On that refusal `*link` (when given) receives the path of the component that is
  // a link, so the caller can say what to do about it.
  static Result<DirFd> open_no_links(const std::string& path, std::string* link = nullptr);

  int get() const { return fd_.get(); }
  bool valid() const { return fd_.valid(); }
  const std::string& path() const { return path_; }
  // path()/name, printable, for messages.
  std::string child(const std::string& name) const;

  // The subdirectory `name` (one path component); a link there is refused.
  Result<DirFd> open_dir(const std::string& name) const;
  // lstat of `name`; nullopt when there is no such entry.
  Result<std::optional<struct stat>> stat(const std::string& name) const;
  // Where the link `name` points, printable, for messages; "?" when it cannot be read.
  std::string link_target(const std::string& name) const;

  // The names in this directory ("." and ".." left out), sorted.
  Result<std::vector<std::string>> names() const;

  // Removes `name` unless it is a directory: a link is removed, never what it points to.
  // Returns false when there was no such entry.
  Result<bool> unlink(const std::string& name) const;
  // Removes everything in this directory. Subdirectories are emptied through their own
  // descriptors, only on this filesystem and at most 32 levels deep; links are removed, never
  // followed. Returns the (printable) names removed at the top level.
  Result<std::vector<std::string>> remove_contents() const;
  // Creates the subdirectory `name` with exactly `mode` (and `owner`). False when it existed.
  Result<bool> make_dir(const std::string& name, mode_t mode, const std::optional<Owner>& owner) const;

  // Reads the regular file `name`. A link, directory, FIFO, socket or device is refused without
  // being opened, as is a file larger than `max_bytes`; with `tail`, a larger file gives its last
  // `max_bytes` instead. An absent file is Errc::not_found.
  Result<std::string> read_file(const std::string& name, std::size_t max_bytes, bool tail = false) const;
  // Replaces `name` atomically with a file holding `content`, mode exactly `mode`, owned by
  // `owner` when given: written to name.pgmigrate-tmp (a stale entry of that name, a link
  // included, is removed first; the new one is created with O_EXCL|O_NOFOLLOW), chowned and
  // chmodded through its descriptor, fsynced, renamed over `name`, and the directory fsynced.
  Status write_file(const std::string& name, const std::string& content, mode_t mode, const std::optional<Owner>& owner) const;
  // fsync of the directory itself (after entries were created, renamed or removed).
  Status sync() const;

 private:
  DirFd(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  Status remove_all_in(dev_t dev, int depth, std::vector<std::string>* top) const;

  UniqueFd fd_;
  std::string path_;
};

}  // namespace pgm
