#include "transport/elevated_connector.h"

#include <cstdlib>
#include <string_view>

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

void take_ssh_connection_argument(int& argc, char** argv) {
  if (argc < 3 || std::string_view(argv[1]) != kSshConnectionFlag) return;
  if (*argv[2] != '\0') ::setenv("SSH_CONNECTION", argv[2], 1);  // NOLINT(concurrency-mt-unsafe): before any thread
  for (int i = 3; i <= argc; ++i) argv[i - 2] = argv[i];         // argv[argc] is the terminating null
  argc -= 2;
}

}  // namespace pgm::transport
