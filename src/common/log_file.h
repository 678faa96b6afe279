// --log-file: what pgmigrate writes to stderr also goes, a timestamped line at a time, to a
// bounded file (common/rotating_file.h). `stderr` itself is replaced by a stream that writes to
// fd 2 and to the file, so every writer (the logger, progress, summaries, the final error line)
// is recorded without knowing about the file. Child processes keep fd 2 and are not recorded;
// pgmigrate reports their failures in its own lines.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "common/rotating_file.h"
#include "pgmigrate/status.h"

namespace pgm {

// The far half's own log (beside its journals): big enough for days of warnings.
inline constexpr std::uint64_t kFarLogSize = std::uint64_t{16} << 20;

class LogFile {
 public:
  // Replaces `stderr` for the rest of the process: install it once, before the logger (which
  // holds on to `stderr`) is made. The new stream owns the LogFile, so both live as long as
  // the process. Terminal control (a progress line redrawn with \r) is not copied; the latest
  // progress line is, once a minute.
  static Status install(const std::string& path, std::uint64_t max_bytes, unsigned keep);

  explicit LogFile(RotatingFile file) : file_(std::move(file)) {}
  // The line assembler: bytes as they were written to stderr.
  void feed(const char* data, std::size_t size);

 private:
  void write_line(const std::string& line);

  RotatingFile file_;
  std::string line_;      // the line being assembled
  std::string progress_;  // the latest line a \r replaced
  bool escape_ = false;   // inside an ESC [ ... sequence
  std::chrono::steady_clock::time_point progress_logged_{};
  bool reported_failure_ = false;
};

}  // namespace pgm
