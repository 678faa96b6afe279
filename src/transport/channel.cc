#include "transport/channel.h"
#include "common/errno_text.h"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/fd.h"

namespace pgm::transport {
namespace {

class LocalChannel final : public Channel {
 public:
  LocalChannel(std::unique_ptr<Subprocess> proc, const CancelToken& cancel) : proc_(std::move(proc)), cancel_(cancel) {
    set_nonblocking(proc_->stdout_fd().get(), true);
  }
  ~LocalChannel() override {
    if (!proc_->exited()) proc_->terminate(1000);
  }

  Result<std::size_t> read_full(std::span<std::uint8_t> buf) override {
    auto n = pgm::read_full(proc_->stdout_fd().get(), buf, cancel_);
    if (n && *n < buf.size()) eof_ = true;
    return n;
  }
  Status write_all(std::span<const std::uint8_t> buf) override {
    if (!proc_->stdin_fd().valid()) return Status(Errc::io, "channel input already closed");
    return pgm::write_full(proc_->stdin_fd().get(), buf, cancel_);
  }
  Result<std::size_t> read_some(std::span<std::uint8_t> buf, std::chrono::milliseconds timeout) override {
    if (eof_) return std::size_t{0};
    pollfd fds[2] = {{proc_->stdout_fd().get(), POLLIN, 0}, {cancel_.fd(), POLLIN, 0}};
    int r = ::poll(fds, 2, static_cast<int>(timeout.count()));
    if (r < 0 && errno != EINTR) return Status(Errc::io, std::string("poll: ") + errno_text(errno));
    if (fds[1].revents) return cancel_.reason();
    if (r <= 0 || fds[0].revents == 0) return std::size_t{0};
    ssize_t n = ::read(proc_->stdout_fd().get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return std::size_t{0};
      return Status(Errc::io, std::string("read: ") + errno_text(errno));
    }
    if (n == 0) eof_ = true;
    return static_cast<std::size_t>(n);
  }
  bool eof() const override { return eof_; }
  Status send_eof() override {
    proc_->stdin_fd().reset();
    return Status::Ok();
  }
  Result<int> wait_exit() override {
    int st = proc_->wait();
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  }
  std::string stderr_text() override { return proc_->stderr_text(); }

 private:
  std::unique_ptr<Subprocess> proc_;
  const CancelToken& cancel_;
  bool eof_ = false;
};

}  // namespace

Result<std::unique_ptr<Channel>> LocalConnector::exec(const std::string& command_line, const CancelToken& cancel) {
  ProcessSpec spec;
  spec.pipe_stdin = true;
  spec.pipe_stdout = true;
  auto proc = Subprocess::spawn_shell(command_line, spec);
  if (!proc) return proc.status();
  return std::unique_ptr<Channel>(new LocalChannel(std::move(*proc), cancel));
}

}  // namespace pgm::transport
