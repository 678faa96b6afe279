// Owned file descriptors and cancellable whole-buffer I/O on pipes and sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "common/cancel.h"
#include "pgmigrate/status.h"

namespace pgm {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};
// Both ends close-on-exec. Grows the pipe buffer to `size` where the kernel allows, because
// zfs send/recv move data in small pieces and a 64 KiB pipe makes them wait on each other.
Result<Pipe> make_pipe(std::size_t size = 1 << 20);

void set_nonblocking(int fd, bool on);

// Reads until `buf` is full or EOF. Returns the number of bytes read (less than buf.size()
// only at EOF). Waits with poll() so that `cancel` interrupts it.
Result<std::size_t> read_full(int fd, std::span<std::uint8_t> buf, const CancelToken& cancel);
// Writes the whole buffer. EPIPE becomes Errc::io with "consumer closed its input".
Status write_full(int fd, std::span<const std::uint8_t> buf, const CancelToken& cancel);

}  // namespace pgm
