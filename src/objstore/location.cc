#include "objstore/location.h"

#include <cstdlib>

#include "common/files.h"
#include "common/text.h"

namespace pgm::objstore {

bool is_object_url(std::string_view s) { return s.starts_with("s3://") || s.starts_with("gs://"); }

Result<Location> parse_location(std::string_view url) {
  if (!is_object_url(url)) return Result<Location>(Errc::invalid_argument, "'" + std::string(url) + "' is not an s3:// or gs:// URL");
  Location loc;
  loc.scheme = std::string(url.substr(0, 2));
  std::string_view rest = url.substr(5);
  auto slash = rest.find('/');
  loc.bucket = std::string(rest.substr(0, slash));
  if (slash != std::string_view::npos) {
    std::string_view p = rest.substr(slash + 1);
    while (!p.empty() && p.back() == '/') p.remove_suffix(1);
    loc.prefix = std::string(p);
  }
  bool valid = loc.bucket.size() >= 3 && loc.bucket.size() <= 63;
  for (char c : loc.bucket) valid = valid && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-');
  if (!valid)
    return Result<Location>(Errc::invalid_argument, "bucket '" + loc.bucket + "' in " + std::string(url) +
                                                        " is not a valid bucket name (3 to 63 of a-z, 0-9, '.', '-')");
  if (loc.prefix.find("//") != std::string::npos || loc.prefix.starts_with("/"))
    return Result<Location>(Errc::invalid_argument, "prefix of " + std::string(url) + " has an empty path segment");
  return loc;
}

std::map<std::string, std::map<std::string, std::string>> parse_ini(std::string_view text) {
  std::map<std::string, std::map<std::string, std::string>> out;
  std::string section;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = trim(std::string_view(line).substr(1, line.size() - 2));
      continue;
    }
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    out[section][trim(std::string_view(line).substr(0, eq))] = trim(std::string_view(line).substr(eq + 1));
  }
  return out;
}

namespace {

std::string home_file(const EnvFn& env, const char* override_var, const char* name) {
  if (auto v = env(override_var); v && !v->empty()) return *v;
  auto home = env("HOME");
  return (home ? *home : std::string()) + "/.aws/" + name;
}

}  // namespace

Result<ClientConfig> resolve_config(const Location& where, const std::string& endpoint, const EnvFn& env, const ReadFileFn& read) {
  ClientConfig c;
  std::string profile = env("AWS_PROFILE").value_or("default");
  auto key = env("AWS_ACCESS_KEY_ID"), secret = env("AWS_SECRET_ACCESS_KEY");
  if (key && secret && !key->empty()) {
    c.credentials = {*key, *secret, env("AWS_SESSION_TOKEN").value_or("")};
  } else {
    std::string path = home_file(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials");
    auto text = read(path);
    auto ini = parse_ini(text.value_or(""));
    auto it = ini.find(profile);
    if (it == ini.end() || !it->second.contains("aws_access_key_id") || !it->second.contains("aws_secret_access_key"))
      return Result<ClientConfig>(Errc::auth, "no credentials for " + where.url() +
                                                  ": set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or profile '" + profile + "' in " +
                                                  path);
    c.credentials = {it->second["aws_access_key_id"], it->second["aws_secret_access_key"], it->second["aws_session_token"]};
  }
  if (auto r = env("AWS_REGION"); r && !r->empty()) {
    c.region = *r;
  } else if (auto d = env("AWS_DEFAULT_REGION"); d && !d->empty()) {
    c.region = *d;
  } else {
    auto ini = parse_ini(read(home_file(env, "AWS_CONFIG_FILE", "config")).value_or(""));
    auto it = ini.find(profile == "default" ? profile : "profile " + profile);
    if (it != ini.end() && it->second.contains("region")) c.region = it->second["region"];
  }
  if (c.region.empty()) c.region = where.scheme == "gs" ? "auto" : "us-east-1";
  c.endpoint = endpoint;
  if (c.endpoint.empty())
    c.endpoint = where.scheme == "gs" ? "https://storage.googleapis.com" : "https://s3." + c.region + ".amazonaws.com";
  while (c.endpoint.ends_with("/")) c.endpoint.pop_back();
  if (!c.endpoint.starts_with("http://") && !c.endpoint.starts_with("https://"))
    return Result<ClientConfig>(Errc::invalid_argument, "--s3-endpoint '" + endpoint + "' must start with http:// or https://");
  return c;
}

Result<ClientConfig> client_config(const Location& where, const StoreSettings& settings, const EnvFn& env, const ReadFileFn& read) {
  auto cfg = resolve_config(where, settings.endpoint, env, read);
  if (!cfg) return cfg;
  cfg->retry_total = settings.retry_total;
  cfg->sse = settings.sse;
  cfg->storage_class = settings.storage_class;
  return cfg;
}

std::optional<std::string> process_env(const std::string& name) {
  const char* v = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe): see the header's REQUIRES
  return v ? std::optional<std::string>(v) : std::nullopt;
}

std::optional<std::string> read_local_file(const std::string& path) {
  auto text = read_file(path);
  return text ? std::optional<std::string>(*text) : std::nullopt;
}

}  // namespace pgm::objstore
