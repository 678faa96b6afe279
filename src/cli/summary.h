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
  std::uint64_t resumed_chunks = 0;  // resumed: the receiver already had this many chunks
  std::uint64_t skipped_bytes = 0;   // and their bytes, regenerated and checked but not sent
};

void print_summary(const TransferSummary& s, bool quiet);

}  // namespace pgm::cli
