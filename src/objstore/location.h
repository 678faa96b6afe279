// Where an upload lives (s3://bucket/prefix, gs://bucket/prefix) and how to reach and sign for
// it: endpoint, region and credentials, found the way the AWS CLI finds them.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "pgmigrate/status.h"

namespace pgm::objstore {

struct Location {
  std::string scheme;  // "s3" or "gs"
  std::string bucket;
  std::string prefix;  // without leading or trailing '/'; may be empty
  std::string url() const { return scheme + "://" + bucket + (prefix.empty() ? "" : "/" + prefix); }
};

bool is_object_url(std::string_view s);
// s3://bucket[/prefix] or gs://bucket[/prefix]; a bucket of 3..63 of [a-z0-9.-].
Result<Location> parse_location(std::string_view url);

struct Credentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // empty unless temporary credentials
};

struct ClientConfig {
  std::string endpoint;  // scheme://host[:port], no trailing '/'; requests are path-style
  std::string region;
  Credentials credentials;
  std::chrono::milliseconds retry_total{120'000};  // a request is retried for at most this long
  std::chrono::milliseconds request_timeout{300'000};
  std::string sse;            // x-amz-server-side-encryption, if set
  std::string storage_class;  // x-amz-storage-class, if set
};

// INI text as the AWS CLI writes ~/.aws/credentials and ~/.aws/config: section -> key -> value.
std::map<std::string, std::map<std::string, std::string>> parse_ini(std::string_view text);

using EnvFn = std::function<std::optional<std::string>(const std::string&)>;
using ReadFileFn = std::function<std::optional<std::string>(const std::string&)>;
// Credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY[/AWS_SESSION_TOKEN], else the profile
// AWS_PROFILE (default "default") of AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials). Region:
// AWS_REGION, AWS_DEFAULT_REGION, the profile's region in AWS_CONFIG_FILE (~/.aws/config), else
// us-east-1 (gs: auto). Endpoint: `endpoint` if given, else AWS's regional endpoint or
// https://storage.googleapis.com (gs, HMAC keys).
Result<ClientConfig> resolve_config(const Location& where, const std::string& endpoint, const EnvFn& env, const ReadFileFn& read);

// What a command names of a store beyond its URL (the `--s3-*` flags of send, recv, objects).
struct StoreSettings {
  std::string endpoint;  // empty: found as resolve_config finds it
  std::chrono::milliseconds retry_total{120'000};
  std::string sse;
  std::string storage_class;
};
// resolve_config with `settings` applied: the whole configuration of a client for `where`.
Result<ClientConfig> client_config(const Location& where, const StoreSettings& settings, const EnvFn& env, const ReadFileFn& read);

// The EnvFn and ReadFileFn of this process: getenv (REQUIRES: no thread changes the environment
// meanwhile) and a whole-file read.
std::optional<std::string> process_env(const std::string& name);
std::optional<std::string> read_local_file(const std::string& path);

}  // namespace pgm::objstore
