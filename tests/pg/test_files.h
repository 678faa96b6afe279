// Real files in a temp dir for the pg/ tests: the temp dir, a file written with its directories,
// and read back ("<missing>" when it cannot be read).
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "pg/server_tools.h"

namespace pgm::pg::test_files {

// A new directory /tmp/PREFIX.XXXXXX; empty on failure.
inline std::filesystem::path make_temp_dir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + ".XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return {};
  return tmpl;
}

inline void write(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

inline std::string read(const std::filesystem::path& p) {
  auto r = read_text_file(p.string());
  return r ? *r : "<missing>";
}

}  // namespace pgm::pg::test_files
