#include "cli/exit.h"

#include <cstdio>
#include <string>

namespace pgm::cli {

Status name_setting(const Status& status, const std::string& setting, const std::string& flag) {
  const std::string& msg = status.message();
  const std::size_t at = msg.find(setting);
  if (status.ok() || at == std::string::npos) return status;
  return Status(status.code(), msg.substr(0, at) + flag + msg.substr(at + setting.size()));
}

int report(const Status& status) {
  if (status.ok()) return kExitOk;
  std::string line = status.message();
  // One line: a child's multi-line stderr is folded.
  for (auto& c : line)
    if (c == '\n') c = ' ';
  std::fprintf(stderr, "pgmigrate: %s\n", line.c_str());
  return exit_code_for(status);
}

}  // namespace pgm::cli
