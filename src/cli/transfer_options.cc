#include "cli/transfer_options.h"

#include <thread>

#include "common/units.h"

namespace pgm::cli {

void add_transfer_options(CLI::App& cmd, TransferOptions& o) {
  cmd.add_option("--chunk-size", o.chunk_size, "Chunk size, 64K..64M")->capture_default_str();
  cmd.add_option("--compress", o.compress, "zstd level 1..19, 'auto' (adapts to the link and the CPU), or 'none'")->capture_default_str();
  cmd.add_option("--threads", o.threads, "Compression/decompression threads (0: one per core)")->capture_default_str();
  cmd.add_option("--max-memory", o.max_memory, "Upper bound for chunk buffers in this process")->capture_default_str();
  cmd.add_option("--progress", o.progress, "auto | line | json | none (on stderr)")
      ->check(CLI::IsMember({"auto", "line", "json", "none"}))
      ->capture_default_str();
  cmd.add_option("--rate", o.rate,
                 "Cap on the bytes the sending side puts on the wire per second, all connections together (e.g. 50M; 0: none); "
                 "'pgmigrate rate SESSION RATE' changes it while running")
      ->capture_default_str();
  cmd.add_option("--metrics-file", o.metrics_file,
                 "Write Prometheus metrics to this file every few seconds (node_exporter textfile collector format, replaced "
                 "atomically; see docs/metrics.md)");
  cmd.add_option("--stall-timeout", o.stall_timeout, "End the transfer when no data moved for this long (0: never)")->capture_default_str();
}

Result<ResolvedTransfer> resolve(const TransferOptions& o) {
  ResolvedTransfer t;
  auto chunk = parse_size(o.chunk_size);
  if (!chunk) return chunk.status().context("--chunk-size");
  if (*chunk < stream::kMinChunkSize || *chunk > stream::kMaxChunkSize)
    return Status(Errc::invalid_argument, "--chunk-size must be between 64K and 64M");
  t.chunk_size = static_cast<std::uint32_t>(*chunk);

  if (o.compress == "auto") {
    // Adaptive: start fast, let the pipeline move the level to what the link and CPU allow.
    t.level = 1;
    t.adaptive_max_level = 9;
    t.codec = stream::Codec::zstd;
  } else if (o.compress == "none" || o.compress == "0") {
    t.level = 0;
    t.codec = stream::Codec::none;
  } else {
    char* end = nullptr;
    long level = std::strtol(o.compress.c_str(), &end, 10);
    if (o.compress.empty() || *end != '\0' || level < 1 || level > 19)
      return Status(Errc::invalid_argument, "--compress must be a zstd level 1..19, 'auto' or 'none'");
    t.level = static_cast<int>(level);
    t.codec = stream::Codec::zstd;
  }

  auto mem = parse_size(o.max_memory);
  if (!mem) return mem.status().context("--max-memory");
  t.max_memory = *mem;
  t.max_chunks = static_cast<std::size_t>(*mem / (2ull * t.chunk_size));
  if (t.max_chunks < 4)
    return Status(Errc::invalid_argument,
                  "--max-memory " + o.max_memory + " is too small for --chunk-size " + o.chunk_size + " (needs at least 8 chunks' worth)");
  if (o.stall_timeout != "0") {
    auto stall = parse_duration(o.stall_timeout);
    if (!stall) return stall.status().context("--stall-timeout");
    t.stall_timeout = *stall;
  }
  auto rate = parse_rate(o.rate);
  if (!rate) return rate.status().context("--rate");
  t.rate = *rate;
  unsigned cores = std::thread::hardware_concurrency();
  t.workers = o.threads ? o.threads : (cores ? cores : 2);
  if (t.workers > 256) return Status(Errc::invalid_argument, "--threads must be at most 256");
  return t;
}

}  // namespace pgm::cli
