#include "session/in_process.h"

#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <future>
#include <mutex>
#include <thread>

#include "common/errno_text.h"
#include "common/fd.h"
#include "transport/lane_socket.h"

namespace pgm::session {

// One far command: its thread, the far end of its socketpair (held by the thread until it
// ends) and how it ended.
struct FarCommand {
  bool serve = false;
  CancelToken cancel;
  UniqueFd far_end;
  std::atomic<bool> broken{false};
  std::promise<Status> promise;
  std::shared_future<Status> result = promise.get_future().share();
  std::thread thread;
};

struct InProcessHost::State {
  InProcessFar far;
  std::mutex mu;  // guards commands and each command's far_end
  std::vector<std::shared_ptr<FarCommand>> commands;
};

namespace {

// The socket path of `... _lane --socket PATH`, as shell_quote wrote it.
std::string unquote(const std::string& word) {
  if (word.size() < 2 || word.front() != '\'') return word;
  std::string out;
  for (std::size_t i = 1; i + 1 < word.size(); ++i) {
    if (word.compare(i, 4, "'\\''") == 0) {
      out.push_back('\'');
      i += 3;
    } else {
      out.push_back(word[i]);
    }
  }
  return out;
}

// The near end of a far command's stdin/stdout.
class InProcessChannel final : public transport::Channel {
 public:
  InProcessChannel(UniqueFd fd, std::shared_ptr<FarCommand> far, const CancelToken& cancel)
      : fd_(std::move(fd)), far_(std::move(far)), cancel_(cancel) {
    set_nonblocking(fd_.get(), true);
  }
  Result<std::size_t> read_full(std::span<std::uint8_t> buf) override {
    auto n = pgm::read_full(fd_.get(), buf, cancel_);
    if (n && *n < buf.size()) eof_ = true;
    return n;
  }
  Status write_all(std::span<const std::uint8_t> buf) override { return pgm::write_full(fd_.get(), buf, cancel_); }
  Result<std::size_t> read_some(std::span<std::uint8_t> buf, std::chrono::milliseconds timeout) override {
    if (eof_) return std::size_t{0};
    pollfd fds[2] = {{fd_.get(), POLLIN, 0}, {cancel_.fd(), POLLIN, 0}};
    int r = ::poll(fds, 2, static_cast<int>(timeout.count()));
    if (r < 0 && errno != EINTR) return Status(Errc::io, "poll: " + errno_text(errno));
    if (fds[1].revents) return cancel_.reason();
    if (r <= 0 || fds[0].revents == 0) return std::size_t{0};
    ssize_t n = ::read(fd_.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return std::size_t{0};
      return Status(Errc::io, "read: " + errno_text(errno));
    }
    if (n == 0) eof_ = true;
    return static_cast<std::size_t>(n);
  }
  bool eof() const override { return eof_; }
  Status send_eof() override {
    ::shutdown(fd_.get(), SHUT_WR);
    return Status::Ok();
  }
  // As over SSH: a broken connection has no exit status; else the far command's end.
  Result<int> wait_exit() override {
    if (far_->broken.load()) return Status(Errc::network, "the connection was lost");
    std::shared_future<Status> result = far_->result;  // a copy per waiter
    return result.get().ok() ? 0 : 1;
  }
  std::string stderr_text() override {
    std::shared_future<Status> result = far_->result;
    if (result.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return {};
    const Status& s = result.get();
    return s.ok() ? std::string() : "pgmigrate: " + s.message() + "\n";
  }

 private:
  UniqueFd fd_;
  std::shared_ptr<FarCommand> far_;
  const CancelToken& cancel_;
  bool eof_ = false;
};

class InProcessConnector final : public transport::Connector {
 public:
  explicit InProcessConnector(std::shared_ptr<InProcessHost::State> state) : state_(std::move(state)) {}
  Result<std::unique_ptr<transport::Channel>> exec(const std::string& command_line, const CancelToken& cancel) override {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return Status(Errc::io, "socketpair: " + errno_text(errno));
    UniqueFd near_end(sv[0]);
    auto cmd = std::make_shared<FarCommand>();
    cmd->far_end = UniqueFd(sv[1]);
    const int fd = sv[1];
    std::function<Status(CancelToken&)> run;
    const InProcessFar& far = state_->far;
    if (command_line.find(" _serve recv") != std::string::npos) {
      cmd->serve = true;
      run = [&far, fd](CancelToken& c) { return serve_recv(far.sink, far.params, far.wait_for_sender, std::nullopt, c, FarIo{fd, fd}); };
    } else if (command_line.find(" _serve send") != std::string::npos) {
      cmd->serve = true;
      run = [&far, fd](CancelToken& c) { return serve_send(far.source, far.params, std::nullopt, c, FarIo{fd, fd}); };
    } else if (command_line.size() > 10 && command_line.substr(command_line.size() - 10) == " --version") {
      run = [fd](CancelToken& c) {
        const std::string line = version_line() + "\n";
        return write_full(fd, {reinterpret_cast<const std::uint8_t*>(line.data()), line.size()}, c);
      };
    } else if (auto at = command_line.find(" _lane --socket "); at != std::string::npos) {
      const std::string socket = unquote(command_line.substr(at + 16));
      run = [socket, fd](CancelToken&) { return transport::attach_lane(socket, 'L', fd, fd); };
    } else {
      return Status(Errc::not_found, "no far command '" + command_line + "' in this process");
    }
    std::lock_guard<std::mutex> lock(state_->mu);
    FarCommand* c = cmd.get();
    cmd->thread = std::thread([c, run, state = state_.get()] {
      Status s = run(c->cancel);
      {
        std::lock_guard<std::mutex> held(state->mu);
        c->far_end.reset();  // its output ends: the near side reads EOF
      }
      c->promise.set_value(s);
    });
    state_->commands.push_back(cmd);
    return std::unique_ptr<transport::Channel>(new InProcessChannel(std::move(near_end), std::move(cmd), cancel));
  }
  std::string describe() const override { return "in-process"; }

 private:
  std::shared_ptr<InProcessHost::State> state_;
};

}  // namespace

InProcessHost::InProcessHost(InProcessFar far) : state_(std::make_shared<State>()) { state_->far = std::move(far); }

InProcessHost::~InProcessHost() {
  std::vector<std::shared_ptr<FarCommand>> commands;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    commands = state_->commands;
  }
  // The far halves first: lanes end when the half that holds them closes them.
  for (auto& c : commands)
    if (c->serve) c->cancel.cancel(Status(Errc::interrupted, "the in-process host is going away"));
  for (auto& c : commands)
    if (c->serve && c->thread.joinable()) c->thread.join();
  for (auto& c : commands)
    if (c->thread.joinable()) c->thread.join();
}

ConnectFn InProcessHost::connector() {
  return [state = state_](const CancelToken&) -> Result<std::unique_ptr<transport::Connector>> {
    return std::unique_ptr<transport::Connector>(new InProcessConnector(state));
  };
}

void InProcessHost::break_control() {
  std::lock_guard<std::mutex> lock(state_->mu);
  for (auto& c : state_->commands) {
    if (!c->serve || !c->far_end.valid()) continue;
    c->broken.store(true);
    ::shutdown(c->far_end.get(), SHUT_RDWR);
  }
}

std::vector<Status> InProcessHost::serve_results() {
  std::vector<std::shared_ptr<FarCommand>> commands;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    commands = state_->commands;
  }
  std::vector<Status> out;
  for (auto& c : commands)
    if (c->serve) out.push_back(c->result.get());
  return out;
}

}  // namespace pgm::session
