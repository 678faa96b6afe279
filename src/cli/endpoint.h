// Parses the far end of a transfer: "-" (stdin/stdout), or "[user@]host:NAME".
#pragma once

#include <optional>
#include <string>

#include "pgmigrate/status.h"

namespace pgm::cli {

struct Endpoint {
  bool stdio = false;
  std::string user;  // empty: the local user
  std::string host;  // empty for stdio
  std::string name;  // dataset or snapshot on that host
};

Result<Endpoint> parse_endpoint(const std::string& text);

}  // namespace pgm::cli
