#include "objstore/uploads.h"

#include <utility>

namespace pgm::objstore {

Result<Listing> list_upload(const std::string& url, const ObjectSettings& settings, const CancelToken& cancel) {
  auto store = resolve_store(url, settings);
  if (!store) return store.status();
  const Location& at = store->at;
  Listing l{at, std::make_unique<Client>(store->config, at.bucket, cancel), {}};
  auto keys = l.client->list(at.prefix.empty() ? "" : at.prefix + "/");
  if (!keys) return keys.status();
  l.keys = std::move(*keys);
  return l;
}

Result<std::optional<Manifest>> manifest_from(const Location& at, const std::optional<Object>& got) {
  if (!got) return std::optional<Manifest>();
  auto decoded = decode_manifest(std::string(got->body.begin(), got->body.end()));
  if (!decoded) return decoded.status().context(at.url() + "/manifest.json");
  return std::optional<Manifest>(std::move(*decoded));
}

Result<std::optional<Manifest>> read_manifest(Client& client, const Location& at) {
  auto got = client.get(manifest_key(at));
  if (!got) return got.status();
  return manifest_from(at, *got);
}

std::vector<std::string> removal_order(const Location& at, const std::vector<ObjectInfo>& keys) {
  const std::string manifest = manifest_key(at);
  std::vector<std::string> order;
  order.reserve(keys.size());
  for (const auto& k : keys)
    if (k.key == manifest) order.push_back(k.key);
  for (const auto& k : keys)
    if (k.key != manifest) order.push_back(k.key);
  return order;
}

Status remove_upload(const Listing& listing) {
  for (const auto& key : removal_order(listing.at, listing.keys)) PGM_RETURN_IF_ERROR(listing.client->remove(key));
  return Status::Ok();
}

}  // namespace pgm::objstore
