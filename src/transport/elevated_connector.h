// Runs every command of another Connector through a privilege wrapper (`sudo -n`, doas, a
// site's own script), so that a far pgmigrate reached through a normal login runs as root.
//
// Why the whole far command and not each zfs/pg_ctl call inside it: the far pgmigrate then
// needs no knowledge of sudo, every privileged step it takes (zfs receive/list/get/hold/
// release/destroy/snapshot, pg_ctl as the cluster's owner, files under the data directory)
// works as it does for a root login, and an operator restricts sudo to one binary
// (docs/usage.md, "Non-root logins").
#pragma once

#include <memory>
#include <string>

#include "transport/channel.h"

namespace pgm::transport {

class ElevatedConnector final : public Connector {
 public:
  // `wrapper`: shell words put before each command (e.g. "sudo -n"). `quoted_bin`: how the
  // commands name the far pgmigrate (shell-quoted), so that what sudo's env_reset drops can be
  // handed over as arguments instead.
  ElevatedConnector(std::unique_ptr<Connector> inner, std::string wrapper, std::string quoted_bin)
      : inner_(std::move(inner)), wrapper_(std::move(wrapper)), quoted_bin_(std::move(quoted_bin)) {}
  Result<std::unique_ptr<Channel>> exec(const std::string& command_line, const CancelToken& cancel) override;
  std::string describe() const override { return inner_->describe(); }

 private:
  std::unique_ptr<Connector> inner_;
  std::string wrapper_;
  std::string quoted_bin_;
};

// The command line ElevatedConnector runs for `command_line` (exposed for tests).
std::string elevated_command(const std::string& wrapper, const std::string& quoted_bin, const std::string& command_line);

// The argument that carries $SSH_CONNECTION past sudo, which drops it from the environment
// (and refuses --preserve-env for it unless sudoers says SETENV). The far pgmigrate reads it
// first thing (take_ssh_connection_argument); the TLS data path needs the addresses it names.
inline constexpr const char* kSshConnectionFlag = "--ssh-connection";

// The far end of that hand-over: a pgmigrate whose first arguments are kSshConnectionFlag and a
// value puts $SSH_CONNECTION back where the TLS data path reads it, and drops both arguments.
// Call it before any thread starts (it sets the environment): cli::run does, before parsing.
void take_ssh_connection_argument(int& argc, char** argv);

}  // namespace pgm::transport
