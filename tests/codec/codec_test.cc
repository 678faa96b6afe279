#include "codec/codec.h"

#include <gtest/gtest.h>

#include <cstring>

#include "stream/test_util.h"

namespace pgm::codec {
namespace {

Buffer to_buffer(const std::string& s) {
  Buffer b(s.size());
  std::memcpy(b.data(), s.data(), s.size());
  b.resize(s.size());
  return b;
}

TEST(Codec, CompressibleChunkIsCompressedAndRoundTrips) {
  std::string raw = pgm::testing::make_payload(1 << 20, true);
  Encoder enc(3);
  Encoded e = enc.encode(to_buffer(raw));
  EXPECT_EQ(e.header.codec, stream::Codec::zstd);
  EXPECT_LT(e.header.enc_len, e.header.raw_len / 2);
  Decoder dec;
  auto back = dec.decode(e.header, std::move(e.payload));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(back->data()), back->size()), raw);
}

TEST(Codec, IncompressibleChunkIsStoredRawWithoutCopy) {
  std::string raw = pgm::testing::make_payload(1 << 20, false);
  Buffer in = to_buffer(raw);
  const std::uint8_t* original = in.data();
  Encoder enc(3);
  Encoded e = enc.encode(std::move(in));
  EXPECT_EQ(e.header.codec, stream::Codec::none);
  EXPECT_EQ(e.header.enc_len, e.header.raw_len);
  EXPECT_EQ(e.payload.data(), original);
}

TEST(Codec, LevelNoneStoresRaw) {
  std::string raw = pgm::testing::make_payload(100000, true);
  Encoder enc(kNoCompression);
  Encoded e = enc.encode(to_buffer(raw));
  EXPECT_EQ(e.header.codec, stream::Codec::none);
}

TEST(Codec, FlippedPayloadByteIsCorrupt) {
  std::string raw = pgm::testing::make_payload(200000, true);
  for (int level : {kNoCompression, 3}) {
    Encoder enc(level);
    Encoded e = enc.encode(to_buffer(raw));
    e.header.seq = 9;
    e.header.offset = 9ull * 262144;
    for (std::size_t pos : {std::size_t{0}, std::size_t{e.payload.size() / 2}, std::size_t{e.payload.size() - 1}}) {
      Buffer copy(e.payload.size());
      std::memcpy(copy.data(), e.payload.data(), e.payload.size());
      copy.resize(e.payload.size());
      copy.data()[pos] ^= 0x10;
      Decoder dec;
      auto r = dec.decode(e.header, std::move(copy));
      ASSERT_FALSE(r.ok()) << "level " << level << " pos " << pos;
      EXPECT_EQ(r.status().code(), Errc::corrupt);
      EXPECT_NE(r.status().message().find("chunk 9"), std::string::npos) << r.status().message();
    }
  }
}

TEST(Codec, LyingContentSizeIsRejectedBeforeAllocation) {
  std::string raw = pgm::testing::make_payload(100000, true);
  Encoder enc(3);
  Encoded e = enc.encode(to_buffer(raw));
  stream::FrameHeader h = e.header;
  h.raw_len = 50000;  // the frame claims less than zstd's own header says
  Decoder dec;
  auto r = dec.decode(h, std::move(e.payload));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("malformed"), std::string::npos);
}

}  // namespace
}  // namespace pgm::codec
