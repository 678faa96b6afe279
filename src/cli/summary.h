// The closing summary of a transfer, printed on stderr.
#pragma once

#include <cstdint>
#include <string>

namespace pgm::cli {

struct TransferSummary {
  std::string verb;  // "sent" / "received"
  std::uint64_t logical_bytes = 0;
  std::uint64_t wire_bytes = 0;
  double seconds = 0;
  std::string digest;
  std::string source;        // snapshot name from the stream
  std::string received;      // snapshot created on the target, if any
  std::string verification;  // "guid 123 matches the source" etc.
  std::string sizes;         // referenced sizes on both sides, if known
  std::uint64_t reconnects = 0;
  std::uint64_t resent_bytes = 0;
};

void print_summary(const TransferSummary& s, bool quiet);

}  // namespace pgm::cli
