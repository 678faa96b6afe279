#include "pgmigrate/status.h"

namespace pgm {

const char* errc_name(Errc code) {
  switch (code) {
    case Errc::ok: return "ok";
    case Errc::invalid_argument: return "invalid argument";
    case Errc::io: return "I/O error";
    case Errc::corrupt: return "corrupt stream";
    case Errc::truncated: return "truncated stream";
    case Errc::child_failed: return "child process failed";
    case Errc::network: return "network error";
    case Errc::auth: return "authentication failed";
    case Errc::host_key: return "host key refused";
    case Errc::not_found: return "not found";
    case Errc::exists: return "already exists";
    case Errc::no_space: return "out of space";
    case Errc::timeout: return "timed out";
    case Errc::interrupted: return "interrupted";
    case Errc::protocol: return "protocol error";
    case Errc::unsupported: return "unsupported";
    case Errc::postgres: return "postgres error";
    case Errc::internal: return "internal error";
  }
  return "unknown error";
}

}  // namespace pgm
