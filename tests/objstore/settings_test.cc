// The --s3-* settings as given and what they resolve to; an upload's manifest as `objects ls`
// reads it, and the order `objects rm` deletes in. No store is reached.
#include <gtest/gtest.h>

#include <map>

#include "objstore/settings.h"
#include "objstore/uploads.h"

namespace pgm::objstore {
namespace {

std::optional<std::string> no_file(const std::string& /*path*/) { return std::nullopt; }

EnvFn env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& k) -> std::optional<std::string> {
    auto it = vars.find(k);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

TEST(ObjectSettings, ResolveIntoAClientConfig) {
  ObjectSettings s;
  s.endpoint = "http://rgw:8080";
  s.retry_time = "30s";
  s.sse = "AES256";
  s.storage_class = "STANDARD_IA";
  auto cfg =
      object_config(s, *parse_location("s3://bucket/p"), env_of({{"AWS_ACCESS_KEY_ID", "ak"}, {"AWS_SECRET_ACCESS_KEY", "sk"}}), no_file);
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  EXPECT_EQ(cfg->endpoint, "http://rgw:8080");
  EXPECT_EQ(cfg->retry_total, std::chrono::seconds(30));
  EXPECT_EQ(cfg->sse, "AES256");
  EXPECT_EQ(cfg->storage_class, "STANDARD_IA");
  EXPECT_EQ(cfg->credentials.access_key, "ak");
}

TEST(ObjectSettings, ErrorsNameTheFlag) {
  ObjectSettings s;
  s.retry_time = "soon";
  auto cfg = object_config(s, *parse_location("s3://bucket/p"), env_of({}), no_file);
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().message().rfind("--s3-retry-time", 0), 0u) << cfg.status().message();
  s.object_size = "big";
  auto up = upload_options(s);
  ASSERT_FALSE(up.ok());
  EXPECT_EQ(up.status().message().rfind("--s3-object-size", 0), 0u) << up.status().message();
  s.follow_timeout = "later";
  auto down = download_options(s);
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().message().rfind("--follow-timeout", 0), 0u) << down.status().message();
}

TEST(ObjectSettings, AStoreIsItsUrlFirst) {
  ObjectSettings s;
  s.retry_time = "soon";  // never reached: the URL is refused first, as a user meets them
  auto store = resolve_store("http://bucket/p", s);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().message(), parse_location("http://bucket/p").status().message());
  auto flag = resolve_store("s3://bucket/p", s);
  ASSERT_FALSE(flag.ok());
  EXPECT_EQ(flag.status().message().rfind("--s3-retry-time", 0), 0u) << flag.status().message();
}

TEST(ObjectSettings, UploadAndDownloadOptions) {
  ObjectSettings s;
  s.object_size = "8M";
  s.concurrency = 7;
  s.follow = true;
  s.follow_timeout = "90s";
  auto up = upload_options(s);
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(up->object_bytes, 8u << 20);
  EXPECT_EQ(up->concurrency, 7u);
  auto down = download_options(s);
  ASSERT_TRUE(down.ok());
  EXPECT_TRUE(down->follow);
  EXPECT_EQ(down->follow_timeout, std::chrono::seconds(90));
  EXPECT_EQ(down->concurrency, 7u);
  // The defaults are what the flags' defaults say.
  auto dflt = upload_options(ObjectSettings{});
  ASSERT_TRUE(dflt.ok());
  EXPECT_EQ(dflt->object_bytes, kDefaultObjectBytes);
  EXPECT_EQ(download_options(ObjectSettings{})->follow_timeout, std::chrono::minutes(10));
}

TEST(Uploads, ManifestFromWhatTheStoreReturned) {
  const Location at = *parse_location("s3://bucket/moves/db1");
  auto none = manifest_from(at, std::nullopt);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());  // no manifest: the upload has not finished

  Manifest m;
  m.header.chunk_size = 1 << 20;
  m.header.snapshot_name = "tank/fs@s1";
  const auto header = stream::encode_header(m.header);
  m.header_hex = stream::to_hex(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(header.data()), header.size()));
  m.objects = 2;
  const std::string text = encode_manifest(m);
  Object got;
  got.body.assign(text.begin(), text.end());
  auto some = manifest_from(at, got);
  ASSERT_TRUE(some.ok()) << some.status().message();
  ASSERT_TRUE(some->has_value());
  EXPECT_EQ((*some)->objects, 2u);
  EXPECT_EQ((*some)->header.snapshot_name, "tank/fs@s1");

  Object bad;
  bad.body = {'{', '}'};
  auto refused = manifest_from(at, bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message().rfind("s3://bucket/moves/db1/manifest.json: ", 0), 0u) << refused.status().message();
}

TEST(Uploads, RemovalTakesTheManifestFirst) {
  const Location at = *parse_location("s3://bucket/p");
  const std::vector<ObjectInfo> keys = {{"p/data/000000000000", 1}, {"p/header", 1}, {"p/manifest.json", 1}, {"p/data/000000000001", 1}};
  EXPECT_EQ(removal_order(at, keys),
            (std::vector<std::string>{"p/manifest.json", "p/data/000000000000", "p/header", "p/data/000000000001"}));
  EXPECT_TRUE(removal_order(at, {}).empty());
}

}  // namespace
}  // namespace pgm::objstore
