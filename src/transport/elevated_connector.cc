#include "transport/elevated_connector.h"

namespace pgm::transport {

std::string elevated_command(const std::string& wrapper, const std::string& quoted_bin, const std::string& command_line) {
  // The far shell expands "$SSH_CONNECTION" before sudo runs, so the value sshd set arrives.
  if (command_line.starts_with(quoted_bin + " "))
    return wrapper + " " + quoted_bin + " " + kSshConnectionFlag + " \"$SSH_CONNECTION\"" + command_line.substr(quoted_bin.size());
  return wrapper + " " + command_line;
}

Result<std::unique_ptr<Channel>> ElevatedConnector::exec(const std::string& command_line, const CancelToken& cancel) {
  return inner_->exec(elevated_command(wrapper_, quoted_bin_, command_line), cancel);
}

}  // namespace pgm::transport
