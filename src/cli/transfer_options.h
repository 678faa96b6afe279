// Options shared by `send` and `recv`: chunking, compression, threads, memory, progress.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

#include "common/status.h"
#include "engine/recv_pipeline.h"
#include "engine/send_pipeline.h"
#include "source/source.h"
#include "stream/format.h"

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
};

void add_transfer_options(CLI::App& cmd, TransferOptions& opts);

struct ResolvedTransfer {
  std::uint32_t chunk_size = 0;
  int level = 0;
  int adaptive_max_level = 0;  // --compress auto
  stream::Codec codec = stream::Codec::zstd;
  unsigned workers = 1;
  std::size_t max_chunks = 0;  // chunks the memory bound allows in flight
  std::uint64_t max_memory = 0;
  std::chrono::milliseconds stall_timeout{0};
};
// Validates and converts; the memory bound becomes a chunk budget of max_memory / (2 x chunk
// size), since a chunk in flight holds up to a raw and an encoded copy.
Result<ResolvedTransfer> resolve(const TransferOptions& opts);

engine::SendOptions send_options(const ResolvedTransfer& t);
engine::RecvOptions recv_options(const ResolvedTransfer& t);
// The receiver's window in chunks for a stream whose sender chose `chunk_size`: the memory
// bound expressed in that stream's chunks (at least 4).
std::size_t recv_window(const ResolvedTransfer& t, std::uint32_t chunk_size);

// A random session id from the kernel.
stream::SessionId new_session_id();
// The header of a new stream from `src` (new session id, the source's snapshot and guid).
stream::StreamHeader new_stream_header(const ResolvedTransfer& t, const source::Source& src);

}  // namespace pgm::cli
