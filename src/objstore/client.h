// An S3 client on libcurl: path-style requests to one endpoint, every request signed with SigV4
// and carrying x-amz-content-sha256 (the server recomputes it over the body it received and
// refuses a mismatch). Transient failures (connection refused or reset, timeout, HTTP 409, 429,
// 499, 500, 502, 503, 504) are retried with full-jitter exponential backoff (200 ms doubling to
// 5 s) until ClientConfig::retry_total has passed; a failure given up on is an error naming the
// request and the server's XML error code, never a silent gap.
// Not thread-safe: one Client per thread (each owns a curl handle and its connection).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/cancel.h"
#include "objstore/location.h"
#include "pgmigrate/status.h"

namespace pgm::objstore {

using Metadata = std::map<std::string, std::string>;  // x-amz-meta-NAME -> value, NAME lower case

struct Object {
  std::vector<std::uint8_t> body;
  Metadata meta;
};

struct ObjectInfo {
  std::string key;
  std::uint64_t size = 0;
};

// The first "<Code>" and "<Message>" of an S3 XML error body, as "Code: Message" (or "").
std::string parse_error_xml(std::string_view body);
// One page of ListObjectsV2: keys and sizes, and the continuation token if truncated.
struct ListPage {
  std::vector<ObjectInfo> objects;
  std::string next_token;
};
ListPage parse_list_xml(std::string_view body);

class Client {
 public:
  Client(ClientConfig config, std::string bucket, const CancelToken& cancel);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  Status put(const std::string& key, std::span<const std::uint8_t> body, const Metadata& meta);
  // nullopt: no such key.
  Result<std::optional<Object>> get(const std::string& key);
  Result<std::optional<Metadata>> head(const std::string& key);
  // Every key under `prefix`, in key order (ListObjectsV2, following continuation tokens).
  Result<std::vector<ObjectInfo>> list(const std::string& prefix);
  Status remove(const std::string& key);
  const std::string& bucket() const { return bucket_; }

 private:
  struct Response;
  struct Request;
  Result<Response> send(const Request& req);
  Result<Response> send_once(const Request& req, bool& retryable);

  ClientConfig config_;
  std::string bucket_;
  std::string host_;  // host[:port] of the endpoint, as signed
  const CancelToken& cancel_;
  void* curl_;  // CURL*, kept out of this header
};

}  // namespace pgm::objstore
