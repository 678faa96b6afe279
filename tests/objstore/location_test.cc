// URLs, credential lookup as the AWS CLI does it, S3 XML replies, and the manifest codec.
#include <gtest/gtest.h>

#include <map>

#include "objstore/client.h"
#include "objstore/location.h"
#include "objstore/relay.h"

namespace pgm::objstore {
namespace {

TEST(Location, ParsesBucketAndPrefix) {
  auto l = parse_location("s3://my-bucket/moves/db1/");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->scheme, "s3");
  EXPECT_EQ(l->bucket, "my-bucket");
  EXPECT_EQ(l->prefix, "moves/db1");
  EXPECT_EQ(l->url(), "s3://my-bucket/moves/db1");
  EXPECT_EQ(parse_location("gs://abc")->prefix, "");
  EXPECT_FALSE(parse_location("s3://ab/x").ok());      // too short
  EXPECT_FALSE(parse_location("s3://Bucket/x").ok());  // upper case
  EXPECT_FALSE(parse_location("s3://abc//x").ok());
  EXPECT_FALSE(parse_location("http://abc/x").ok());
  EXPECT_EQ(data_key(*l, 7), "moves/db1/data/000000000007");
  EXPECT_EQ(manifest_key(*parse_location("s3://abc")), "manifest.json");
}

struct FakeEnv {
  std::map<std::string, std::string> vars, files;
  EnvFn env() {
    return [this](const std::string& k) -> std::optional<std::string> {
      auto it = vars.find(k);
      return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
  }
  ReadFileFn read() {
    return [this](const std::string& k) -> std::optional<std::string> {
      auto it = files.find(k);
      return it == files.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
  }
};

TEST(Credentials, EnvironmentWinsThenProfileFiles) {
  FakeEnv f;
  f.vars = {{"HOME", "/h"}, {"AWS_PROFILE", "work"}};
  f.files["/h/.aws/credentials"] =
      "[default]\naws_access_key_id = D\naws_secret_access_key = DS\n\n[work]\naws_access_key_id=W\naws_secret_access_key = WS\n";
  f.files["/h/.aws/config"] = "[default]\nregion = eu-west-1\n[profile work]\nregion = ap-south-1\n";
  auto s3 = *parse_location("s3://bucket/p");
  auto c = resolve_config(s3, "", f.env(), f.read());
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->credentials.access_key, "W");
  EXPECT_EQ(c->credentials.secret_key, "WS");
  EXPECT_EQ(c->region, "ap-south-1");
  EXPECT_EQ(c->endpoint, "https://s3.ap-south-1.amazonaws.com");
  f.vars["AWS_ACCESS_KEY_ID"] = "E";
  f.vars["AWS_SECRET_ACCESS_KEY"] = "ES";
  f.vars["AWS_REGION"] = "us-west-2";
  c = resolve_config(s3, "http://127.0.0.1:7480/", f.env(), f.read());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->credentials.access_key, "E");
  EXPECT_EQ(c->region, "us-west-2");
  EXPECT_EQ(c->endpoint, "http://127.0.0.1:7480");
  auto gs = resolve_config(*parse_location("gs://bucket"), "",
                           FakeEnv{{{"AWS_ACCESS_KEY_ID", "G"}, {"AWS_SECRET_ACCESS_KEY", "GS"}}, {}}.env(), f.read());
  ASSERT_TRUE(gs.ok());
  EXPECT_EQ(gs->endpoint, "https://storage.googleapis.com");
  EXPECT_EQ(gs->region, "auto");
}

TEST(Credentials, NoneIsOneLineSayingWhatToSet) {
  FakeEnv f;
  f.vars = {{"HOME", "/h"}};
  auto c = resolve_config(*parse_location("s3://bucket"), "", f.env(), f.read());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Errc::auth);
  EXPECT_NE(c.status().message().find("AWS_ACCESS_KEY_ID"), std::string::npos);
}

TEST(Credentials, ClientConfigAppliesTheSettingsOverTheEnvironment) {
  FakeEnv f;
  f.vars = {{"AWS_ACCESS_KEY_ID", "K"}, {"AWS_SECRET_ACCESS_KEY", "KS"}, {"AWS_REGION", "eu-central-1"}};
  StoreSettings s{.endpoint = "http://127.0.0.1:9000", .retry_total = std::chrono::seconds(5), .sse = "AES256", .storage_class = "GLACIER"};
  auto c = client_config(*parse_location("s3://bucket/p"), s, f.env(), f.read());
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->credentials.access_key, "K");
  EXPECT_EQ(c->region, "eu-central-1");
  EXPECT_EQ(c->endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(c->retry_total, std::chrono::seconds(5));
  EXPECT_EQ(c->sse, "AES256");
  EXPECT_EQ(c->storage_class, "GLACIER");
  // Without credentials the settings change nothing of the refusal.
  auto none = client_config(*parse_location("s3://bucket"), s, FakeEnv{{{"HOME", "/h"}}, {}}.env(), f.read());
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Errc::auth);
}

TEST(S3Xml, ErrorsAndListPages) {
  EXPECT_EQ(parse_error_xml("<?xml version=\"1.0\"?><Error><Code>SlowDown</Code><Message>Reduce &amp; retry</Message></Error>"),
            "SlowDown: Reduce & retry");
  EXPECT_EQ(parse_error_xml("<Error><Code>NoSuchKey</Code><Message></Message></Error>"), "NoSuchKey");
  EXPECT_EQ(parse_error_xml(""), "");
  auto page = parse_list_xml(
      "<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>p/a&amp;b</Key><Size>12</Size></Contents>"
      "<Contents><Key>p/c</Key><Size>0</Size></Contents><NextContinuationToken>tok/+=</NextContinuationToken></ListBucketResult>");
  ASSERT_EQ(page.objects.size(), 2u);
  EXPECT_EQ(page.objects[0].key, "p/a&b");
  EXPECT_EQ(page.objects[0].size, 12u);
  EXPECT_EQ(page.next_token, "tok/+=");
  EXPECT_EQ(parse_list_xml("<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>").next_token, "");
}

TEST(Manifest, RoundTripAndRefusals) {
  Manifest m;
  m.header.chunk_size = 1 << 20;
  m.header.snapshot_name = "tank/fs@s1";
  m.header.snapshot_guid = 42;
  m.header_hex = stream::to_hex(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(stream::encode_header(m.header).data()),
                                                              stream::encode_header(m.header).size()));
  m.chunks_per_object = 8;
  m.objects = 3;
  m.trailer.chunk_count = 20;
  m.trailer.total_bytes = 20 << 20;
  m.trailer.digest[0] = 0xab;
  auto back = decode_manifest(encode_manifest(m));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->header, m.header);
  EXPECT_EQ(back->trailer, m.trailer);
  EXPECT_EQ(back->objects, 3u);
  EXPECT_FALSE(decode_manifest("{}").ok());
  EXPECT_FALSE(decode_manifest("not json").ok());
  EXPECT_FALSE(decode_manifest(R"({"format":"pgmigrate-objects-1","header":"00"})").ok());
}

}  // namespace
}  // namespace pgm::objstore
