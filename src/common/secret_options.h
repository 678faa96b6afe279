// Secrets (connection strings with passwords) reach a far pgmigrate on its stdin, never in its
// argv, which every user of that host can read in `ps`. The near side runs
// `pgmigrate --options-stdin COMMAND ...` and writes one JSON line, {"--primary": "...", ...};
// the far side adds those options to its command line before parsing it.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "pgmigrate/status.h"

namespace pgm {

inline constexpr const char* kOptionsStdinFlag = "--options-stdin";
// The longest line the far side reads. Besides conninfo, the line carries a Debian cluster's
// config bundle (migrate's standby step: at most pg::kMaxBundleBytes of files, escaped twice as
// JSON), so it is bounded well above that and still far below what would hurt the far host.
inline constexpr std::size_t kMaxOptionsLine = std::size_t{16} << 20;

// The line the near side writes (with its newline).
std::string options_line(const std::vector<std::pair<std::string, std::string>>& options);

// The far side: when argv[1] is --options-stdin, reads one line from stdin (at most kMaxOptionsLine,
// within 30 s) and returns the arguments with its options appended; otherwise the arguments
// as they are. Only "--name" keys with string values are taken.
Result<std::vector<std::string>> expand_options_stdin(int argc, char** argv);

// The parser behind it, for tests and fuzzing: the options of one such line.
Result<std::vector<std::pair<std::string, std::string>>> parse_options_line(const std::string& line);

}  // namespace pgm
