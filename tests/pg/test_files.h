// Real files in a temp dir for the pg/ tests: a file written with its directories, and read
// back ("<missing>" when it cannot be read).
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

#include "pg/server_tools.h"

namespace pgm::pg::test_files {

inline void write(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

inline std::string read(const std::filesystem::path& p) {
  auto r = read_text_file(p.string());
  return r ? *r : "<missing>";
}

}  // namespace pgm::pg::test_files
