#include "objstore/settings.h"

#include <utility>

#include "common/units.h"

namespace pgm::objstore {

Result<ClientConfig> object_config(const ObjectSettings& o, const Location& at, const EnvFn& env, const ReadFileFn& read) {
  auto retry = parse_duration(o.retry_time);
  if (!retry) return retry.status().context("--s3-retry-time");
  return client_config(at, {.endpoint = o.endpoint, .retry_total = *retry, .sse = o.sse, .storage_class = o.storage_class}, env, read);
}

Result<ClientConfig> object_config(const ObjectSettings& o, const Location& at) {
  return object_config(o, at, process_env, read_local_file);
}

Result<Store> resolve_store(const std::string& url, const ObjectSettings& o) {
  auto at = parse_location(url);
  if (!at) return at.status();
  auto cfg = object_config(o, *at);
  if (!cfg) return cfg.status();
  return Store{std::move(*at), std::move(*cfg)};
}

Result<UploadOptions> upload_options(const ObjectSettings& o) {
  UploadOptions up;
  auto size = parse_size(o.object_size);
  if (!size) return size.status().context("--s3-object-size");
  up.object_bytes = *size;
  up.concurrency = o.concurrency;
  return up;
}

Result<DownloadOptions> download_options(const ObjectSettings& o) {
  DownloadOptions down;
  down.follow = o.follow;
  down.concurrency = o.concurrency;
  auto ft = parse_duration(o.follow_timeout);
  if (!ft) return ft.status().context("--follow-timeout");
  down.follow_timeout = *ft;
  return down;
}

}  // namespace pgm::objstore
