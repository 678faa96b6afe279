#include "common/stdin_watch.h"

#include <poll.h>
#include <unistd.h>

#include <array>
#include <cerrno>

namespace pgm {

StdinWatch::StdinWatch(CancelToken& cancel) : thread_([this, &cancel] { watch(cancel); }) {}

StdinWatch::~StdinWatch() {
  stop_.cancel(Status(Errc::interrupted, "the receive ended"));
  thread_.join();
}

void StdinWatch::watch(CancelToken& cancel) {
  std::array<char, 256> buf{};
  while (true) {
    std::array<pollfd, 2> fds{{{0, POLLIN, 0}, {stop_.fd(), POLLIN, 0}}};
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    if (fds[0].revents == 0) continue;
    const ssize_t n = ::read(0, buf.data(), buf.size());
    if (n > 0 || (n < 0 && (errno == EINTR || errno == EAGAIN))) continue;
    cancel.cancel(Status(Errc::interrupted, "stdin closed: whoever started this receive (migrate run --bulk-via) went away"));
    return;
  }
}

}  // namespace pgm
