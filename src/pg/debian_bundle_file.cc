// The config bundle as a file: written by `pg cluster export --out` on the source, read by
// `pg standby --config-bundle` on the target (debian_cluster.h). The flags name the contexts, so
// that the errors say which file it was.
#include <filesystem>

#include "common/dir_fd.h"
#include "pg/debian_cluster.h"
#include "pg/server_tools.h"

namespace pgm::pg {

Result<ConfigBundle> read_bundle_file(const std::string& path) {
  auto text = read_text_file(path);
  if (!text) return text.status().context("--config-bundle");
  auto b = bundle_from_json(*text);
  if (!b) return b.status().context("--config-bundle " + path);
  return b;
}

Status write_bundle_file(const ConfigBundle& b, const std::string& path) {
  const std::filesystem::path out(path);
  auto dir = DirFd::open(out.has_parent_path() ? out.parent_path().string() : std::string("."));
  if (!dir) return dir.status().context("--out");
  return dir->write_file(out.filename().string(), bundle_to_json(b), 0600, std::nullopt);
}

}  // namespace pgm::pg
