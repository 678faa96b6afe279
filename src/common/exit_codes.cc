#include "common/exit_codes.h"

#include <string>

namespace pgm {

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

}  // namespace pgm
