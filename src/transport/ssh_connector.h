// A Connector over one SSH connection (libssh2 session): each exec() is a channel on it.
#pragma once

#include <memory>

#include "transport/channel.h"
#include "transport/ssh/ssh_session.h"

namespace pgm::transport {

class SshConnector final : public Connector {
 public:
  static Result<std::unique_ptr<Connector>> connect(const SshTarget& target, const CancelToken& cancel);
  Result<std::unique_ptr<Channel>> exec(const std::string& command_line, const CancelToken& cancel) override;
  std::string describe() const override { return session_->where(); }

 private:
  explicit SshConnector(std::unique_ptr<SshSession> s) : session_(std::move(s)) {}
  std::unique_ptr<SshSession> session_;
};

}  // namespace pgm::transport
