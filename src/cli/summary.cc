#include "cli/summary.h"

#include <cstdio>
#include <string>

#include "common/units.h"

namespace pgm::cli {

void print_summary(const TransferSummary& s, bool quiet) {
  if (quiet) return;
  if (s.digest.empty() && !s.verification.empty()) {
    // Nothing moved (the target already had the snapshot): that is the whole story.
    std::fprintf(stderr, "pgmigrate: %s\n", s.verification.c_str());
    return;
  }
  const double ratio = s.wire_bytes ? static_cast<double>(s.logical_bytes) / static_cast<double>(s.wire_bytes) : 1.0;
  const double rate = s.seconds > 0 ? static_cast<double>(s.logical_bytes) / s.seconds : 0;
  std::fprintf(stderr, "pgmigrate: %s %s in %s (%s), %s on the wire (ratio %.2fx)\n", s.verb.c_str(),
               format_bytes(static_cast<double>(s.logical_bytes)).c_str(), format_duration(s.seconds).c_str(), format_rate(rate).c_str(),
               format_bytes(static_cast<double>(s.wire_bytes)).c_str(), ratio);
  std::fprintf(stderr, "pgmigrate: stream digest %s%s%s%s\n", s.digest.c_str(), s.verb == "received" ? " verified" : "",
               s.source.empty() ? "" : " for ", s.source.c_str());
  // A receiver cannot know what its sender sent again: it reports the drops it saw.
  if (s.drops > 0 || s.reconnects > 0 || s.resent_bytes > 0) {
    std::string again = s.verb == "received" ? "" : ", " + format_bytes(static_cast<double>(s.resent_bytes)) + " sent again";
    std::fprintf(stderr, "pgmigrate: %llu data connection(s) dropped, %llu reconnect(s)%s\n", static_cast<unsigned long long>(s.drops),
                 static_cast<unsigned long long>(s.reconnects), again.c_str());
  }
  if (s.resumed_chunks > 0)
    std::fprintf(stderr, "pgmigrate: resumed: the receiver already had %llu chunks (%s), regenerated and checked, not sent again\n",
                 static_cast<unsigned long long>(s.resumed_chunks), format_bytes(static_cast<double>(s.skipped_bytes)).c_str());
  if (!s.verification.empty()) std::fprintf(stderr, "pgmigrate: %s\n", s.verification.c_str());
  if (!s.sizes.empty()) std::fprintf(stderr, "pgmigrate: %s\n", s.sizes.c_str());
}

}  // namespace pgm::cli
