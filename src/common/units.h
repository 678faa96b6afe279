// Parsing and printing of sizes ("4M", "1.5GiB") and durations ("90s", "10m").
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "pgmigrate/status.h"

namespace pgm {

// Accepts a plain byte count or a number with K/M/G/T (binary, 1024-based; "KiB", "KB",
// "k" all mean 1024). Rejects negatives, overflow and trailing junk.
Result<std::uint64_t> parse_size(std::string_view text);

// A rate in bytes per second: "50M", "50MB/s", "1.5G", "800K" are decimal (1000-based, as
// network people and format_rate count), "50MiB" binary; "0" and "none" mean no cap.
Result<std::uint64_t> parse_rate(std::string_view text);

// Accepts "250ms", "30s", "10m", "2h", or a plain number of seconds.
Result<std::chrono::milliseconds> parse_duration(std::string_view text);

// "1.50 GiB", "512 B": for humans.
std::string format_bytes(double bytes);
// "12.3 MB/s" (decimal megabytes, as network people count).
std::string format_rate(double bytes_per_second);
// "1h02m03s" / "4.2s".
std::string format_duration(double seconds);

}  // namespace pgm
