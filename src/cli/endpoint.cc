#include "cli/endpoint.h"

namespace pgm::cli {

Result<Endpoint> parse_endpoint(const std::string& text) {
  Endpoint e;
  if (text == "-") {
    e.stdio = true;
    return e;
  }
  std::string rest = text;
  // [user@]host:NAME. A bracketed IPv6 address may contain ':'.
  std::size_t at = rest.find('@');
  std::size_t colon = rest.find(':');
  if (at != std::string::npos && (colon == std::string::npos || at < colon)) {
    e.user = rest.substr(0, at);
    rest = rest.substr(at + 1);
  }
  if (!rest.empty() && rest[0] == '[') {
    std::size_t close = rest.find(']');
    if (close == std::string::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
      return Status(Errc::invalid_argument, "invalid endpoint '" + text + "' (expected [user@]host:POOL/FS)");
    e.host = rest.substr(1, close - 1);
    e.name = rest.substr(close + 2);
  } else {
    colon = rest.find(':');
    if (colon == std::string::npos)
      return Status(Errc::invalid_argument, "invalid endpoint '" + text + "' (expected '-' or [user@]host:POOL/FS)");
    e.host = rest.substr(0, colon);
    e.name = rest.substr(colon + 1);
  }
  if (e.host.empty()) return Status(Errc::invalid_argument, "invalid endpoint '" + text + "': empty host");
  for (char c : e.host + e.user) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == ':';
    if (!ok) return Status(Errc::invalid_argument, "invalid host or user in '" + text + "'");
  }
  if (e.name.empty()) return Status(Errc::invalid_argument, "invalid endpoint '" + text + "': no dataset after ':'");
  return e;
}

}  // namespace pgm::cli
