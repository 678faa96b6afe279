#include "objstore/client.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>

#include "common/backoff.h"
#include "objstore/sigv4.h"

namespace pgm::objstore {

struct Client::Request {
  std::string method;
  std::string key;  // "" for the bucket itself
  std::vector<std::pair<std::string, std::string>> query;
  std::span<const std::uint8_t> body;
  Metadata meta;
  bool with_body = false;  // GET: keep the body
};

struct Client::Response {
  long status = 0;
  std::string body;
  Metadata meta;
};

namespace {

CURL* handle(void* p) { return static_cast<CURL*>(p); }

std::string xml_unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out.push_back(s[i]);
      continue;
    }
    static const std::pair<std::string_view, char> kEntities[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    bool done = false;
    for (const auto& [name, ch] : kEntities) {
      if (s.substr(i).starts_with(name)) {
        out.push_back(ch);
        i += name.size() - 1;
        done = true;
        break;
      }
    }
    if (!done) out.push_back('&');
  }
  return out;
}

// The text of the first <tag>...</tag> at or after `from`; npos-safe.
std::optional<std::string> tag(std::string_view xml, std::string_view name, std::size_t& from) {
  std::string open = "<" + std::string(name) + ">", close = "</" + std::string(name) + ">";
  auto b = xml.find(open, from);
  if (b == std::string_view::npos) return std::nullopt;
  b += open.size();
  auto e = xml.find(close, b);
  if (e == std::string_view::npos) return std::nullopt;
  from = e + close.size();
  return xml_unescape(xml.substr(b, e - b));
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  std::string_view line(data, size * n);
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    static constexpr std::string_view kMeta = "x-amz-meta-";
    if (name.starts_with(kMeta)) {
      std::string_view v = line.substr(colon + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) v.remove_suffix(1);
      (*static_cast<Metadata*>(user))[name.substr(kMeta.size())] = std::string(v);
    }
  }
  return size * n;
}

struct UploadCursor {
  std::span<const std::uint8_t> body;
  std::size_t pos = 0;
};

size_t on_read(char* out, size_t size, size_t n, void* user) {
  auto* c = static_cast<UploadCursor*>(user);
  std::size_t len = std::min(size * n, c->body.size() - c->pos);
  std::copy_n(c->body.data() + c->pos, len, out);
  c->pos += len;
  return len;
}

// curl rewinds the body when it resends on a connection that turned out to be dead.
int on_seek(void* user, curl_off_t offset, int origin) {
  auto* c = static_cast<UploadCursor*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<std::size_t>(offset) > c->body.size()) return CURL_SEEKFUNC_FAIL;
  c->pos = static_cast<std::size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

bool retryable_curl(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR: return true;
    default: return false;
  }
}

bool retryable_status(long s) { return s == 409 || s == 429 || s == 499 || s == 500 || s == 502 || s == 503 || s == 504; }

Errc errc_for_status(long s) {
  if (s == 401 || s == 403) return Errc::auth;
  if (s == 404) return Errc::not_found;
  if (s == 400 || s == 409) return Errc::invalid_argument;
  return Errc::network;
}

}  // namespace

std::string parse_error_xml(std::string_view body) {
  std::size_t at = 0;
  auto code = tag(body, "Code", at);
  if (!code) return "";
  at = 0;
  auto msg = tag(body, "Message", at);
  return *code + (msg && !msg->empty() ? ": " + *msg : "");
}

ListPage parse_list_xml(std::string_view body) {
  ListPage page;
  std::size_t at = 0;
  while (true) {
    std::size_t c = at;
    auto contents = tag(body, "Contents", c);
    if (!contents) break;
    at = c;
    std::size_t k = 0, s = 0;
    ObjectInfo info;
    info.key = tag(*contents, "Key", k).value_or("");
    info.size = std::strtoull(tag(*contents, "Size", s).value_or("0").c_str(), nullptr, 10);
    page.objects.push_back(std::move(info));
  }
  std::size_t t = 0, n = 0;
  if (tag(body, "IsTruncated", t).value_or("false") == "true") page.next_token = tag(body, "NextContinuationToken", n).value_or("");
  return page;
}

// curl_global_init is not thread-safe in every libcurl build: once, before the first handle.
static CURL* new_handle() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  return curl_easy_init();
}

Client::Client(ClientConfig config, std::string bucket, const CancelToken& cancel)
    : config_(std::move(config)), bucket_(std::move(bucket)), cancel_(cancel), curl_(new_handle()) {
  std::string_view e = config_.endpoint;
  e.remove_prefix(e.find("://") + 3);
  host_ = std::string(e.substr(0, e.find('/')));
}

Client::~Client() { curl_easy_cleanup(handle(curl_)); }

Result<Client::Response> Client::send(const Request& req) {
  using Clock = std::chrono::steady_clock;
  auto deadline = Clock::now() + config_.retry_total;
  // Full jitter, so that N uploaders hitting one SlowDown do not come back in step.
  Backoff backoff(std::chrono::milliseconds(200), std::chrono::milliseconds(5000));
  while (true) {
    bool retryable = false;
    auto r = send_once(req, retryable);
    if (r.ok() || !retryable) return r;
    auto wait = backoff.next();
    if (!wait) return wait.status().context(req.method + " " + bucket_ + "/" + req.key);
    if (Clock::now() + *wait >= deadline)
      return r.status().context("given up after retrying for " + std::to_string(config_.retry_total.count() / 1000) + " s");
    if (!cancel_.wait_for(*wait)) return Result<Response>(cancel_.reason().code(), cancel_.reason().message());
  }
}

Result<Client::Response> Client::send_once(const Request& req, bool& retryable) {
  CURL* c = handle(curl_);
  curl_easy_reset(c);
  std::string path = "/" + bucket_ + (req.key.empty() ? "/" : "/" + uri_encode(req.key, true));
  std::string query = canonical_query(req.query);
  std::string url = config_.endpoint + path + (query.empty() ? "" : "?" + query);
  std::string what = req.method + " " + bucket_ + "/" + req.key;

  SignedRequest s;
  s.method = req.method;
  s.path = path;
  s.query = req.query;
  s.amz_date = amz_date(std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  s.payload_hash = sha256_hex(req.body);
  s.headers = {{"host", host_}, {"x-amz-date", s.amz_date}, {"x-amz-content-sha256", s.payload_hash}};
  if (!config_.credentials.session_token.empty()) s.headers.emplace_back("x-amz-security-token", config_.credentials.session_token);
  if (req.method == "PUT") {
    if (!config_.sse.empty()) s.headers.emplace_back("x-amz-server-side-encryption", config_.sse);
    if (!config_.storage_class.empty()) s.headers.emplace_back("x-amz-storage-class", config_.storage_class);
    for (const auto& [k, v] : req.meta) s.headers.emplace_back("x-amz-meta-" + k, v);
  }
  SigningKey key{config_.credentials.access_key, config_.credentials.secret_key, config_.region, "s3"};
  curl_slist* headers = nullptr;
  for (const auto& [k, v] : s.headers) headers = curl_slist_append(headers, std::string(k).append(": ").append(v).c_str());
  headers = curl_slist_append(headers, ("Authorization: " + authorization(s, key)).c_str());
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip

  Response resp;
  UploadCursor cursor{req.body, 0};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 30'000L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(config_.request_timeout.count()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &resp.meta);
  if (req.method == "PUT") {
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &cursor);
    curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
    curl_easy_setopt(c, CURLOPT_SEEKDATA, &cursor);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  } else if (req.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (req.method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    retryable = retryable_curl(rc);
    return Result<Response>(Errc::network, what + " at " + config_.endpoint + ": " + curl_easy_strerror(rc));
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  if (resp.status >= 200 && resp.status < 300) return resp;
  if (resp.status == 404 && (req.method == "GET" || req.method == "HEAD")) {
    std::string code = parse_error_xml(resp.body);
    if (req.method == "HEAD" || code.starts_with("NoSuchKey")) return resp;  // the caller sees a missing key
  }
  retryable = retryable_status(resp.status);
  std::string code = parse_error_xml(resp.body);
  std::string hint;
  if (resp.status == 401 || resp.status == 403)
    hint = " (check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the AWS_PROFILE in use, and the region, for " + config_.endpoint + ")";
  return Result<Response>(errc_for_status(resp.status),
                          what + ": HTTP " + std::to_string(resp.status) + (code.empty() ? "" : " " + code) + hint);
}

Status Client::put(const std::string& key, std::span<const std::uint8_t> body, const Metadata& meta) {
  Request r{"PUT", key, {}, body, meta, false};
  auto resp = send(r);
  return resp.ok() ? Status::Ok() : resp.status();
}

Result<std::optional<Object>> Client::get(const std::string& key) {
  auto resp = send(Request{"GET", key, {}, {}, {}, true});
  if (!resp) return resp.status();
  if (resp->status == 404) return std::optional<Object>();
  Object o;
  o.body.assign(resp->body.begin(), resp->body.end());
  o.meta = std::move(resp->meta);
  return std::optional<Object>(std::move(o));
}

Result<std::optional<Metadata>> Client::head(const std::string& key) {
  auto resp = send(Request{"HEAD", key, {}, {}, {}, false});
  if (!resp) return resp.status();
  if (resp->status == 404) return std::optional<Metadata>();
  return std::optional<Metadata>(std::move(resp->meta));
}

Result<std::vector<ObjectInfo>> Client::list(const std::string& prefix) {
  std::vector<ObjectInfo> all;
  std::string token;
  do {
    Request r{"GET", "", {{"list-type", "2"}, {"prefix", prefix}}, {}, {}, true};
    if (!token.empty()) r.query.emplace_back("continuation-token", token);
    auto resp = send(r);
    if (!resp) return resp.status();
    if (resp->status == 404) return Result<std::vector<ObjectInfo>>(Errc::not_found, "bucket " + bucket_ + " does not exist");
    ListPage page = parse_list_xml(resp->body);
    for (auto& o : page.objects) all.push_back(std::move(o));
    token = page.next_token;
  } while (!token.empty());
  return all;
}

Status Client::remove(const std::string& key) {
  auto resp = send(Request{"DELETE", key, {}, {}, {}, false});
  return resp.ok() ? Status::Ok() : resp.status();
}

}  // namespace pgm::objstore
