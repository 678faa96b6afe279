// SigV4 against AWS's published examples: the Signature Version 4 test suite (get-vanilla,
// get-vanilla-query-order-key-case, post-x-www-form-urlencoded; credentials AKIDEXAMPLE) and the
// S3 developer guide's header-based examples (GET object with a range, PUT object, ListObjects;
// credentials AKIAIOSFODNN7EXAMPLE, 24 May 2013). The expected values are typed from there.
#include <gtest/gtest.h>

#include "objstore/sigv4.h"

namespace pgm::objstore {
namespace {

const std::string kEmptySha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

SigningKey suite_key() { return {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "service"}; }
SigningKey s3_key() { return {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "s3"}; }

TEST(SigV4, GetVanilla) {
  SignedRequest r{"GET", "/", {}, {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}}, kEmptySha, "20150830T123600Z"};
  EXPECT_EQ(canonical_request(r), "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" + kEmptySha);
  EXPECT_EQ(string_to_sign(r, suite_key()),
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  EXPECT_EQ(authorization(r, suite_key()),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4, GetVanillaQueryOrderKeyCase) {
  SignedRequest r{"GET",
                  "/",
                  {{"Param2", "value2"}, {"Param1", "value1"}},
                  {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}},
                  kEmptySha,
                  "20150830T123600Z"};
  EXPECT_EQ(canonical_query(r.query), "Param1=value1&Param2=value2");
  EXPECT_EQ(authorization(r, suite_key()),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, "
            "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

TEST(SigV4, PostXWwwFormUrlencoded) {
  SignedRequest r{
      "POST",
      "/",
      {},
      {{"Content-Type", "application/x-www-form-urlencoded"}, {"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}},
      sha256_hex("Param1=value1"),
      "20150830T123600Z"};
  EXPECT_EQ(r.payload_hash, "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
  EXPECT_EQ(authorization(r, suite_key()),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
}

TEST(SigV4, S3GetObjectWithRange) {
  SignedRequest r{"GET",
                  "/test.txt",
                  {},
                  {{"Host", "examplebucket.s3.amazonaws.com"},
                   {"Range", "bytes=0-9"},
                   {"x-amz-content-sha256", kEmptySha},
                   {"x-amz-date", "20130524T000000Z"}},
                  kEmptySha,
                  "20130524T000000Z"};
  EXPECT_EQ(string_to_sign(r, s3_key()),
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(authorization(r, s3_key()),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4, S3PutObject) {
  std::string body = "Welcome to Amazon S3.";
  SignedRequest r{"PUT",
                  "/" + uri_encode("test$file.text", true),
                  {},
                  {{"Host", "examplebucket.s3.amazonaws.com"},
                   {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                   {"x-amz-date", "20130524T000000Z"},
                   {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                   {"x-amz-content-sha256", sha256_hex(body)}},
                  sha256_hex(body),
                  "20130524T000000Z"};
  EXPECT_EQ(r.path, "/test%24file.text");
  EXPECT_EQ(r.payload_hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  EXPECT_EQ(authorization(r, s3_key()),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, "
            "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4, S3ListObjects) {
  SignedRequest r{"GET",
                  "/",
                  {{"max-keys", "2"}, {"prefix", "J"}},
                  {{"Host", "examplebucket.s3.amazonaws.com"}, {"x-amz-content-sha256", kEmptySha}, {"x-amz-date", "20130524T000000Z"}},
                  kEmptySha,
                  "20130524T000000Z"};
  EXPECT_EQ(authorization(r, s3_key()),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
            "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4, Helpers) {
  EXPECT_EQ(uri_encode("a b/c~d*", false), "a%20b%2Fc~d%2A");
  EXPECT_EQ(uri_encode("pre/fix/000001", true), "pre/fix/000001");
  EXPECT_EQ(amz_date(1369353600), "20130524T000000Z");
  // RFC 1321's MD5 test suite: MD5("") = d41d8cd98f00b204e9800998ecf8427e, in base64.
  EXPECT_EQ(content_md5({}), "1B2M2Y8AsgTpgAmY7PhCfg==");
}

}  // namespace
}  // namespace pgm::objstore
