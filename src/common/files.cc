#include "common/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/errno_text.h"
#include "common/fd.h"

namespace pgm {
namespace {
Status sys_error(const std::string& what) { return Status(Errc::io, what + ": " + errno_text(errno)); }
}  // namespace

Status write_file_atomic(const std::string& path, const std::string& text, mode_t mode) {
  // A name of its own per write: two processes replacing one file (two `migrate run`s racing
  // for one migration) must not write into the same temporary file, or one could publish the
  // other's half-written bytes. mkostemp creates it exclusively (never through a link).
  std::string tmp = path + ".tmp.XXXXXX";
  UniqueFd fd(::mkostemp(tmp.data(), O_CLOEXEC));
  if (!fd.valid()) return sys_error("writing " + tmp);
  // The data reaches the disk before the rename publishes it: otherwise a crash can leave the
  // new name on an empty file, and the state (a slot, a step done) is lost with it.
  bool ok = true;
  for (std::size_t off = 0; ok && off < text.size();) {
    const ssize_t n = ::write(fd.get(), text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) off += static_cast<std::size_t>(n);
  }
  // The umask must not narrow what the caller asked for (a metrics file others read).
  if (ok) ok = ::fchmod(fd.get(), mode) == 0;
  if (ok) ok = ::fsync(fd.get()) == 0;
  const int err = errno;
  fd.reset();
  if (!ok) {
    ::unlink(tmp.c_str());
    errno = err;
    return sys_error("writing " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int rename_err = errno;
    ::unlink(tmp.c_str());
    errno = rename_err;
    return sys_error("replacing " + path);
  }
  // And the rename itself is durable only once the directory is.
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd.valid()) return sys_error("opening " + dir);
  if (::fsync(dfd.get()) != 0) return sys_error("syncing " + dir);
  return Status::Ok();
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status(Errc::not_found, "cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace pgm
