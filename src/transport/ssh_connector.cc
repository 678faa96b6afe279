#include "transport/ssh_connector.h"

#include "transport/ssh/ssh_channel.h"

namespace pgm::transport {
namespace {

class SshExecChannel final : public Channel {
 public:
  explicit SshExecChannel(std::unique_ptr<SshChannel> ch) : ch_(std::move(ch)) {}
  Result<std::size_t> read_full(std::span<std::uint8_t> buf) override { return ch_->read_full(buf); }
  Status write_all(std::span<const std::uint8_t> buf) override { return ch_->write_all(buf); }
  Result<std::size_t> read_some(std::span<std::uint8_t> buf, std::chrono::milliseconds timeout) override {
    return ch_->read_some(buf, timeout);
  }
  bool eof() const override { return ch_->eof(); }
  Status send_eof() override { return ch_->send_eof(); }
  Result<int> wait_exit() override {
    Status s = ch_->close();
    if (!s.ok() && ch_->exit_status() < 0) return s;
    return ch_->exit_status();
  }
  std::string stderr_text() override { return ch_->stderr_text(); }

 private:
  std::unique_ptr<SshChannel> ch_;
};

}  // namespace

Result<std::unique_ptr<Connector>> SshConnector::connect(const SshTarget& target, const CancelToken& cancel) {
  auto s = SshSession::connect(target, cancel);
  if (!s) return s.status();
  return std::unique_ptr<Connector>(new SshConnector(std::move(*s)));
}

Result<std::unique_ptr<Channel>> SshConnector::exec(const std::string& command_line, const CancelToken& /*cancel*/) {
  // The session polls the token it was connected with; every channel's waits honour it.
  auto ch = session_->exec(command_line);
  if (!ch) return ch.status();
  return std::unique_ptr<Channel>(new SshExecChannel(std::move(*ch)));
}

}  // namespace pgm::transport
