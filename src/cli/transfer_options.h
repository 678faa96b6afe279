// Options shared by `send` and `recv`: chunking, compression, threads, memory, progress, as
// flags, and what they resolve to.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

#include "pgmigrate/session.h"
#include "pgmigrate/status.h"

namespace pgm::cli {

struct TransferOptions {
  std::string chunk_size = "4M";
  // Level 1 by measurement (docs/benchmarks.md): on pgbench-like data it put the same bytes
  // on the wire as level 3 for ~13% less CPU, and these transfers are CPU-bound.
  std::string compress = "1";
  unsigned threads = 0;  // 0: one per core
  std::string max_memory = "192M";
  std::string progress = "auto";
  std::string stall_timeout = "5m";
  std::string rate = "0";    // bytes per second on the wire, all lanes together; 0: no cap
  std::string metrics_file;  // --metrics-file: the Prometheus textfile (session/metrics_file.h)
};

void add_transfer_options(CLI::App& cmd, TransferOptions& opts);

// The typed parameters the flags resolve to (pgmigrate/session.h).
using ResolvedTransfer = session::TransferParams;
// Validates and converts; the memory bound becomes a chunk budget of max_memory / (2 x chunk
// size), since a chunk in flight holds up to a raw and an encoded copy.
Result<ResolvedTransfer> resolve(const TransferOptions& opts);

}  // namespace pgm::cli
