// What a command says about an object store besides its URL: the `--s3-*` flags that send,
// recv, `objects` and `migrate run --bulk-via` share, as the user gave them, and what they
// resolve to. Errors name the flag (every command with the group spells it the same).
#pragma once

#include <string>

#include "objstore/location.h"
#include "objstore/relay.h"
#include "pgmigrate/status.h"

namespace pgm::objstore {

struct ObjectSettings {
  std::string endpoint;  // --s3-endpoint
  std::string sse, storage_class;
  std::string object_size = "32M";
  unsigned concurrency = kDefaultConcurrency;
  std::string retry_time = "2m";
  bool follow = false;
  std::string follow_timeout = "10m";
  // Receive only: stop when stdin closes. `migrate run --bulk-via` starts the target's receive
  // over SSH with this, so that a run that fails or is killed ends its follower at once
  // instead of leaving it polling until --follow-timeout.
  bool until_stdin_closes = false;
};

// The location and how to reach it (endpoint, region, credentials from the environment, read
// through `env` and `read`). The process's own: REQUIRES no thread changes the environment meanwhile.
Result<ClientConfig> object_config(const ObjectSettings& o, const Location& at, const EnvFn& env, const ReadFileFn& read);
Result<ClientConfig> object_config(const ObjectSettings& o, const Location& at);
// An object URL and the configuration of a client for it: parse_location, then object_config.
struct Store {
  Location at;
  ClientConfig config;
};
Result<Store> resolve_store(const std::string& url, const ObjectSettings& o);
// An upload's object size and concurrency.
Result<UploadOptions> upload_options(const ObjectSettings& o);
// A download's follow mode, its timeout and concurrency.
Result<DownloadOptions> download_options(const ObjectSettings& o);

}  // namespace pgm::objstore
