#include "objstore/describe.h"

#include "common/text.h"

namespace pgm::objstore {
namespace {

unsigned long long ull(std::uint64_t n) { return static_cast<unsigned long long>(n); }

}  // namespace

std::vector<std::string> object_lines(const std::vector<ObjectInfo>& keys) {
  std::vector<std::string> out;
  out.reserve(keys.size());
  for (const auto& k : keys) out.push_back(strprintf("%12llu  %s", ull(k.size), k.key.c_str()));
  return out;
}

std::string upload_state_line(const Location& at, const std::vector<ObjectInfo>& keys, const Manifest* manifest) {
  if (manifest == nullptr)
    return strprintf("%s: %zu objects, no manifest (an upload that has not finished, or was killed)", at.url().c_str(), keys.size());
  std::uint64_t total = 0;
  for (const auto& k : keys) total += k.size;
  return strprintf("complete: %s (guid %llu), %llu objects, %llu chunks, %llu stream bytes; %llu bytes stored",
                   manifest->header.snapshot_name.c_str(), ull(manifest->header.snapshot_guid), ull(manifest->objects),
                   ull(manifest->trailer.chunk_count), ull(manifest->trailer.total_bytes), ull(total));
}

std::string stored_line(const UploadSummary& stored, const std::string& url) {
  return strprintf("stored %llu objects and a manifest at %s (%llu uploaded, %llu kept from an earlier run)", ull(stored.objects),
                   url.c_str(), ull(stored.uploaded), ull(stored.kept));
}

}  // namespace pgm::objstore
