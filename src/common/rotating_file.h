// A log file that stays bounded: lines are appended to PATH; once it would pass `max_bytes` it
// becomes PATH.1 (PATH.1 becomes PATH.2, ...) and a new PATH starts; PATH.<keep> is the
// oldest kept. A days-long migration's history survives its terminal and fits the disk.
// Not thread-safe: its one user (common/log_file.h) writes under stdio's stream lock.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "common/fd.h"
#include "pgmigrate/status.h"

namespace pgm {

class RotatingFile {
 public:
  // Opens (appends to) `path`, creating it 0600. REQUIRES: max_bytes > 0.
  static Result<RotatingFile> open(std::string path, std::uint64_t max_bytes, unsigned keep);

  // Appends `line` and a newline. A failed write (disk full) is reported once and then the
  // file is left alone: a log must never stop the migration it records.
  Status append_line(std::string_view line);

  const std::string& path() const { return path_; }

 private:
  RotatingFile(std::string path, std::uint64_t max_bytes, unsigned keep) : path_(std::move(path)), max_(max_bytes), keep_(keep) {}
  Status rotate();

  std::string path_;
  std::uint64_t max_;
  unsigned keep_;
  UniqueFd fd_;
  std::uint64_t size_ = 0;
  bool failed_ = false;
};

}  // namespace pgm
