#include "cli/exit.h"

#include <cstdio>
#include <string>

namespace pgm::cli {

Errc errc_for_exit_code(int code) {
  switch (code) {
    case kExitOk: return Errc::ok;
    case kExitUsage: return Errc::invalid_argument;
    case kExitCorrupt: return Errc::corrupt;
    case kExitChild: return Errc::child_failed;
    case kExitNetwork: return Errc::network;
    case kExitAuth: return Errc::auth;
    case kExitNoSpace: return Errc::no_space;
    case kExitTimeout: return Errc::timeout;
    case kExitPostgres: return Errc::postgres;
    case kExitSighup:
    case kExitSigint:
    case kExitSigterm: return Errc::interrupted;
    case 127: return Errc::not_found;  // the shell did not find the command
    default: return Errc::child_failed;
  }
}

int exit_code_for(const Status& status) {
  switch (status.code()) {
    case Errc::ok: return kExitOk;
    case Errc::invalid_argument: return kExitUsage;
    case Errc::corrupt:
    case Errc::truncated:
    case Errc::protocol: return kExitCorrupt;
    case Errc::child_failed: return kExitChild;
    case Errc::network: return kExitNetwork;
    case Errc::auth:
    case Errc::host_key: return kExitAuth;
    case Errc::no_space: return kExitNoSpace;
    case Errc::timeout: return kExitTimeout;
    case Errc::postgres: return kExitPostgres;
    case Errc::interrupted: {
      // The signal watcher words its reason "interrupted by SIGINT", etc.
      const std::string& m = status.message();
      if (m.find("SIGHUP") != std::string::npos) return kExitSighup;
      if (m.find("SIGTERM") != std::string::npos) return kExitSigterm;
      return kExitSigint;
    }
    default: return kExitFailure;
  }
}

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
