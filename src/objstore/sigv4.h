// AWS Signature Version 4 for S3 requests, as pure functions (no clock, no network): the
// caller passes the time and the payload's hash, and gets the Authorization header back.
// Checked against AWS's published examples in tests/objstore/sigv4_test.cc.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pgm::objstore {

struct SigningKey {
  std::string access_key;
  std::string secret_key;
  std::string region;   // us-east-1
  std::string service;  // s3
};

struct SignedRequest {
  std::string method;                                        // GET, PUT, ...
  std::string path;                                          // already URI-encoded: /bucket/key%24
  std::vector<std::pair<std::string, std::string>> query;    // raw (unencoded) names and values
  std::vector<std::pair<std::string, std::string>> headers;  // every header to sign, host included
  std::string payload_hash;                                  // hex SHA-256 of the body, or UNSIGNED-PAYLOAD
  std::string amz_date;                                      // 20130524T000000Z
};

// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters stay, everything else is
// %XX (upper case). With keep_slash, '/' stays (an object key inside a path).
std::string uri_encode(std::string_view s, bool keep_slash);
// The query string both for the wire and for signing: encoded, sorted by name then value.
std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query);
std::string canonical_request(const SignedRequest& r);
std::string string_to_sign(const SignedRequest& r, const SigningKey& key);
// "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..."
std::string authorization(const SignedRequest& r, const SigningKey& key);

std::string sha256_hex(std::span<const std::uint8_t> bytes);
inline std::string sha256_hex(std::string_view s) {
  return sha256_hex(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
}
// Base64 of the MD5 of `bytes`: the Content-MD5 header, which the server checks against the body.
std::string content_md5(std::span<const std::uint8_t> bytes);
// 20130524T000000Z for a Unix time.
std::string amz_date(std::int64_t unix_seconds);

}  // namespace pgm::objstore
