// Whole-file reads and crash-safe replacement of small files (state, journals, metrics).
#pragma once

#include <sys/types.h>

#include <string>

#include "pgmigrate/status.h"

namespace pgm {

// Writes `text` to `path` through a temp file (`path`.tmp, mode `mode` exactly), fsync and a
// rename, then an fsync of the directory: a reader or a crash sees the old or the new text,
// never half or none. Does not follow a link at the temp name.
Status write_file_atomic(const std::string& path, const std::string& text, mode_t mode = 0600);
// The whole file; Errc::not_found if it cannot be read.
Result<std::string> read_file(const std::string& path);

}  // namespace pgm
