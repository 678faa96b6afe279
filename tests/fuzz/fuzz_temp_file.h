// A scratch file for the fuzz targets whose parser takes a path (journal .sums, known_hosts,
// pg_control): one private directory per process under $TMPDIR, removed at exit.
#pragma once

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

namespace pgm::fuzz {

class TempDir {
 public:
  TempDir() {
    const char* tmp = std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe): one thread
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/pgm-fuzz-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) __builtin_trap();
    dir_ = templ;
  }
  ~TempDir() {
    for (const auto& f : files_) ::unlink((dir_ + "/" + f).c_str());
    for (auto it = subdirs_.rbegin(); it != subdirs_.rend(); ++it) ::rmdir((dir_ + "/" + *it).c_str());
    ::rmdir(dir_.c_str());
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return dir_; }
  void subdir(const std::string& name) {
    if (::mkdir((dir_ + "/" + name).c_str(), 0700) != 0 && errno != EEXIST) __builtin_trap();
    subdirs_.push_back(name);
  }
  // Writes `size` bytes to <dir>/<name> (replacing it) and returns the path.
  std::string write(const std::string& name, const void* data, std::size_t size) {
    const std::string p = dir_ + "/" + name;
    std::FILE* f = std::fopen(p.c_str(), "wb");
    if (f == nullptr) __builtin_trap();
    if (size > 0 && std::fwrite(data, 1, size, f) != size) __builtin_trap();
    if (std::fclose(f) != 0) __builtin_trap();
    files_.insert(name);
    return p;
  }

 private:
  std::string dir_;
  std::set<std::string> files_;
  std::vector<std::string> subdirs_;
};

// The process's scratch directory (destroyed, with its files, when the fuzzer exits).
inline TempDir& temp_dir() {
  static TempDir dir;
  return dir;
}

}  // namespace pgm::fuzz
