#include "objstore/describe.h"

#include <fmt/printf.h>

namespace pgm::objstore {

std::vector<std::string> object_lines(const std::vector<ObjectInfo>& keys) {
  std::vector<std::string> out;
  out.reserve(keys.size());
  for (const auto& k : keys) out.push_back(fmt::sprintf("%12llu  %s", k.size, k.key));
  return out;
}

std::string upload_state_line(const Location& at, const std::vector<ObjectInfo>& keys, const Manifest* manifest) {
  if (manifest == nullptr)
    return fmt::sprintf("%s: %zu objects, no manifest (an upload that has not finished, or was killed)", at.url(), keys.size());
  std::uint64_t total = 0;
  for (const auto& k : keys) total += k.size;
  return fmt::sprintf("complete: %s (guid %llu), %llu objects, %llu chunks, %llu stream bytes; %llu bytes stored",
                      manifest->header.snapshot_name, manifest->header.snapshot_guid, manifest->objects, manifest->trailer.chunk_count,
                      manifest->trailer.total_bytes, total);
}

std::string stored_line(const UploadSummary& stored, const std::string& url) {
  return fmt::sprintf("stored %llu objects and a manifest at %s (%llu uploaded, %llu kept from an earlier run)", stored.objects, url,
                      stored.uploaded, stored.kept);
}

}  // namespace pgm::objstore
