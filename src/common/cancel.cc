#include "common/cancel.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>

namespace pgm {

CancelToken::CancelToken() : event_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (event_fd_ < 0) std::abort();  // out of fds at start-up: nothing sensible to do
}

CancelToken::~CancelToken() { ::close(event_fd_); }

void CancelToken::cancel(Status reason) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_.load(std::memory_order_relaxed)) return;
    reason_ = reason.ok() ? Status(Errc::interrupted, "cancelled") : std::move(reason);
    cancelled_.store(true, std::memory_order_release);
  }
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(event_fd_, &one, sizeof one);
}

bool CancelToken::wait_for(std::chrono::nanoseconds d) const {
  const auto deadline = std::chrono::steady_clock::now() + d;
  for (;;) {
    if (cancelled()) return false;
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left.count() <= 0) return true;
    pollfd pfd{event_fd_, POLLIN, 0};
    // Rounded up, so that a sub-millisecond remainder sleeps instead of spinning.
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    ::poll(&pfd, 1, static_cast<int>(std::min<std::int64_t>(ms, 60'000)));
  }
}

Status CancelToken::reason() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reason_;
}

CancelLink::CancelLink(const CancelToken& parent, CancelToken& child)
    : thread_([&parent, &child, this] {
        pollfd fds[2] = {{parent.fd(), POLLIN, 0}, {stop_.fd(), POLLIN, 0}};
        for (;;) {
          int r = ::poll(fds, 2, -1);
          if (r < 0 && errno == EINTR) continue;
          if (fds[0].revents != 0) child.cancel(parent.reason());
          return;
        }
      }) {}

CancelLink::~CancelLink() {
  stop_.cancel(Status::Ok());
  thread_.join();
}

}  // namespace pgm
