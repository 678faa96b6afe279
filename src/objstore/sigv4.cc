// SigV4 (docs.aws.amazon.com, "Signature Version 4 signing process"): canonical request ->
// string to sign -> HMAC chain over date, region, service -> signature.
#include "objstore/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>

#include "common/text.h"
#include "stream/format.h"

namespace pgm::objstore {
namespace {

std::string hex(std::span<const std::uint8_t> bytes) { return stream::to_hex(bytes); }

std::span<const std::uint8_t> bytes_of(std::string_view s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

std::string hmac(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
       &len);
  return std::string(reinterpret_cast<const char*>(out.data()), len);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A header value as SigV4 signs it: trimmed, runs of spaces collapsed to one.
std::string canonical_value(std::string_view v) {
  std::string t = trim(v), out;
  for (char c : t) {
    if (c == ' ' && !out.empty() && out.back() == ' ') continue;
    out.push_back(c);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> sorted_headers(const SignedRequest& r) {
  std::vector<std::pair<std::string, std::string>> h;
  h.reserve(r.headers.size());
  for (const auto& [name, value] : r.headers) h.emplace_back(lower(name), canonical_value(value));
  std::stable_sort(h.begin(), h.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return h;
}

std::string signed_header_names(const std::vector<std::pair<std::string, std::string>>& h) {
  std::string out;
  for (const auto& [name, value] : h) {
    if (!out.empty()) out += ';';
    out += name;
  }
  return out;
}

std::string scope(const SignedRequest& r, const SigningKey& key) {
  return r.amz_date.substr(0, 8) + "/" + key.region + "/" + key.service + "/aws4_request";
}

}  // namespace

std::string uri_encode(std::string_view s, bool keep_slash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 0xf]);
    }
  }
  return out;
}

std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> q;
  q.reserve(query.size());
  for (const auto& [k, v] : query) q.emplace_back(uri_encode(k, false), uri_encode(v, false));
  std::sort(q.begin(), q.end());
  std::string out;
  for (const auto& [k, v] : q) {
    if (!out.empty()) out += '&';
    out.append(k).append("=").append(v);
  }
  return out;
}

std::string canonical_request(const SignedRequest& r) {
  auto h = sorted_headers(r);
  std::string out = r.method + "\n" + r.path + "\n" + canonical_query(r.query) + "\n";
  for (const auto& [name, value] : h) out.append(name).append(":").append(value).append("\n");
  out += "\n" + signed_header_names(h) + "\n" + r.payload_hash;
  return out;
}

std::string string_to_sign(const SignedRequest& r, const SigningKey& key) {
  return "AWS4-HMAC-SHA256\n" + r.amz_date + "\n" + scope(r, key) + "\n" + sha256_hex(canonical_request(r));
}

std::string authorization(const SignedRequest& r, const SigningKey& key) {
  std::string k = hmac("AWS4" + key.secret_key, r.amz_date.substr(0, 8));
  k = hmac(k, key.region);
  k = hmac(k, key.service);
  k = hmac(k, "aws4_request");
  std::string sig = hmac(k, string_to_sign(r, key));
  return "AWS4-HMAC-SHA256 Credential=" + key.access_key + "/" + scope(r, key) +
         ", SignedHeaders=" + signed_header_names(sorted_headers(r)) + ", Signature=" + hex(bytes_of(sig));
}

std::string sha256_hex(std::span<const std::uint8_t> bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), out.data(), &len, EVP_sha256(), nullptr);
  return hex(std::span<const std::uint8_t>(out.data(), len));
}

std::string content_md5(std::span<const std::uint8_t> bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md.data(), &len, EVP_md5(), nullptr);
  std::array<unsigned char, 64> b64{};
  int n = EVP_EncodeBlock(b64.data(), md.data(), static_cast<int>(len));
  return std::string(reinterpret_cast<const char*>(b64.data()), static_cast<std::size_t>(n));
}

std::string amz_date(std::int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::array<char, 32> buf{};
  std::size_t n = std::strftime(buf.data(), buf.size(), "%Y%m%dT%H%M%SZ", &tm);
  return std::string(buf.data(), n);
}

}  // namespace pgm::objstore
