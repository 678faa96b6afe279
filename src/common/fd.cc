#include "common/fd.h"
#include "common/errno_text.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace pgm {

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Result<Pipe> make_pipe(std::size_t size) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Status(Errc::io, std::string("pipe: ") + errno_text(errno));
  Pipe p{UniqueFd(fds[0]), UniqueFd(fds[1])};
  // Best effort: an unprivileged user is capped by /proc/sys/fs/pipe-max-size.
  if (size > 0) (void)::fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(size));
  return p;
}

void set_nonblocking(int fd, bool on) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return;
  ::fcntl(fd, F_SETFL, on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK));
}

namespace {

// Waits until fd is ready for `events` or the token is cancelled.
Status wait_ready(int fd, short events, const CancelToken& cancel) {
  for (;;) {
    if (cancel.cancelled()) return cancel.reason();
    pollfd fds[2] = {{fd, events, 0}, {cancel.fd(), POLLIN, 0}};
    int n = ::poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status(Errc::io, std::string("poll: ") + errno_text(errno));
    }
    if (fds[1].revents != 0) return cancel.reason();
    if (fds[0].revents != 0) return Status::Ok();
  }
}

}  // namespace

Result<std::size_t> read_full(int fd, std::span<std::uint8_t> buf, const CancelToken& cancel) {
  std::size_t done = 0;
  while (done < buf.size()) {
    // Poll first even on a blocking fd, so that cancel() always interrupts the wait.
    PGM_RETURN_IF_ERROR(wait_ready(fd, POLLIN, cancel));
    ssize_t n = ::read(fd, buf.data() + done, buf.size() - done);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n == 0) break;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) continue;
    return Status(Errc::io, std::string("read: ") + errno_text(errno));
  }
  return done;
}

Status write_full(int fd, std::span<const std::uint8_t> buf, const CancelToken& cancel) {
  std::size_t done = 0;
  while (done < buf.size()) {
    if (cancel.cancelled()) return cancel.reason();
    ssize_t n = ::write(fd, buf.data() + done, buf.size() - done);
    if (n >= 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      PGM_RETURN_IF_ERROR(wait_ready(fd, POLLOUT, cancel));
      continue;
    }
    if (errno == EPIPE) return Status(Errc::io, "the consumer closed its input");
    if (errno == ENOSPC) return Status(Errc::no_space, "no space left on device");
    return Status(Errc::io, std::string("write: ") + errno_text(errno));
  }
  return Status::Ok();
}

}  // namespace pgm
