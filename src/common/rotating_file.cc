#include "common/rotating_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "common/errno_text.h"

namespace pgm {
namespace {

Result<UniqueFd> open_append(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!fd.valid()) return Status(Errc::io, "cannot open log file " + path + ": " + errno_text(errno));
  return fd;
}

}  // namespace

Result<RotatingFile> RotatingFile::open(std::string path, std::uint64_t max_bytes, unsigned keep) {
  RotatingFile f(std::move(path), max_bytes, keep);
  auto fd = open_append(f.path_);
  if (!fd) return fd.status();
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return Status(Errc::io, "cannot stat log file " + f.path_ + ": " + errno_text(errno));
  f.size_ = static_cast<std::uint64_t>(st.st_size);
  f.fd_ = std::move(*fd);
  return f;
}

Status RotatingFile::rotate() {
  fd_.reset();
  // PATH.<keep> falls off; each older name moves up by one.
  if (keep_ == 0) {
    ::unlink(path_.c_str());
  } else {
    for (unsigned i = keep_; i >= 1; --i) {
      const std::string from = i == 1 ? path_ : path_ + "." + std::to_string(i - 1);
      const std::string to = path_ + "." + std::to_string(i);
      if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT)
        return Status(Errc::io, "cannot rotate log file " + from + ": " + errno_text(errno));
    }
  }
  auto fd = open_append(path_);
  if (!fd) return fd.status();
  fd_ = std::move(*fd);
  size_ = 0;
  return Status::Ok();
}

Status RotatingFile::append_line(std::string_view line) {
  if (failed_) return Status::Ok();
  std::string buf(line);
  buf.push_back('\n');
  Status s = Status::Ok();
  if (size_ > 0 && size_ + buf.size() > max_) s = rotate();
  if (s.ok()) {
    std::size_t done = 0;
    while (done < buf.size()) {
      const ssize_t n = ::write(fd_.get(), buf.data() + done, buf.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        s = Status(Errc::io, "cannot write log file " + path_ + ": " + errno_text(errno));
        break;
      }
      done += static_cast<std::size_t>(n);
    }
    size_ += done;
  }
  if (!s.ok()) failed_ = true;
  return s;
}

}  // namespace pgm
