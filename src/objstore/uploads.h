// An upload as a whole, for `pgmigrate objects ls|rm`: its keys, its manifest, and deleting it.
// Nothing here prints (describe.h words what a command shows).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/cancel.h"
#include "objstore/client.h"
#include "objstore/location.h"
#include "objstore/relay.h"
#include "objstore/settings.h"
#include "pgmigrate/status.h"

namespace pgm::objstore {

// An upload's location, a client for its bucket, and every key under its prefix.
struct Listing {
  Location at;
  std::unique_ptr<Client> client;
  std::vector<ObjectInfo> keys;
};
// `cancel` must outlive the listing's client.
Result<Listing> list_upload(const std::string& url, const ObjectSettings& settings, const CancelToken& cancel);

// The manifest of the upload at `at`, decoded from what a GET of its key returned (`got`,
// nullopt: no such key, so no manifest: the upload has not finished). A manifest that does
// not decode is an error naming it.
Result<std::optional<Manifest>> manifest_from(const Location& at, const std::optional<Object>& got);
Result<std::optional<Manifest>> read_manifest(Client& client, const Location& at);

// The order in which rm deletes `keys`: the manifest first, since from then on no reader takes
// what is left for a complete upload; then the rest in list order.
std::vector<std::string> removal_order(const Location& at, const std::vector<ObjectInfo>& keys);
// Deletes every key of `listing`, in removal_order; stops at the first failure.
Status remove_upload(const Listing& listing);

}  // namespace pgm::objstore
