#include "stream/format.h"

#include <gtest/gtest.h>

#include "stream/test_util.h"

namespace pgm::stream {
namespace {

constexpr std::uint32_t kChunk = 64 * 1024;

StreamHeader sample_header() {
  StreamHeader h;
  h.codec = Codec::zstd;
  h.chunk_size = kChunk;
  h.session_id = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  h.snapshot_guid = 0x1122334455667788ull;
  h.snapshot_name = "tank/pgdata@pgmigrate-1-base";
  return h;
}

TEST(StreamHeader, RoundTrip) {
  StreamHeader h = sample_header();
  std::string bytes = encode_header(h);
  std::span<const std::uint8_t> span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  auto size = header_size_from_prefix(span.first(kHeaderFixedSize));
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, bytes.size());
  auto back = decode_header(span);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, h);
}

TEST(StreamHeader, EveryByteCorruptionIsDetected) {
  StreamHeader h = sample_header();
  const std::string good = encode_header(h);
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (std::uint8_t flip : {0x01, 0x80}) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ flip);
      std::span<const std::uint8_t> span(reinterpret_cast<const std::uint8_t*>(bad.data()), bad.size());
      auto size = header_size_from_prefix(span.first(kHeaderFixedSize));
      if (!size.ok()) continue;           // magic, version or name length rejected up front
      if (*size != bad.size()) continue;  // a changed name length changes the frame: caught as truncation by the reader
      auto back = decode_header(span);
      EXPECT_FALSE(back.ok()) << "byte " << i << " flip " << int(flip) << " went unnoticed";
    }
  }
}

TEST(StreamHeader, RejectsBadFields) {
  StreamHeader h = sample_header();
  h.chunk_size = 1000;  // below 64 KiB
  std::string bytes = encode_header(h);
  auto r = decode_header({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Errc::corrupt);
  EXPECT_NE(r.status().message().find("chunk size"), std::string::npos);

  h = sample_header();
  h.version = 2;
  bytes = encode_header(h);
  r = decode_header({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Errc::unsupported);

  bytes = encode_header(sample_header());
  bytes[0] = 'X';
  r = decode_header({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not a pgmigrate stream"), std::string::npos);
}

TEST(Record, FrameRoundTripAndEveryFieldValidated) {
  StreamHeader h = sample_header();
  FrameHeader f{Codec::zstd, 3, 3ull * kChunk, kChunk, 1000, 0xdeadbeefcafef00dull};
  auto bytes = encode_frame_header(f);
  auto back = decode_record(bytes, h);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(std::get<FrameHeader>(*back), f);

  // Fields that are individually wrong but carry a correct check value: each is refused
  // with the chunk named.
  std::vector<std::pair<FrameHeader, std::string>> bad = {
      {{Codec::zstd, 3, 4ull * kChunk, kChunk, 1000, 1}, "offset"},
      {{Codec::zstd, 3, 3ull * kChunk, kChunk + 1, 1000, 1}, "raw length"},
      {{Codec::zstd, 3, 3ull * kChunk, 0, 0, 1}, "raw length"},
      {{Codec::zstd, 3, 3ull * kChunk, 1000, 1000, 1}, "compressed length"},
      {{Codec::zstd, 3, 3ull * kChunk, 1000, 0xFFFFFFFFu, 1}, "compressed length"},
      {{Codec::none, 3, 3ull * kChunk, 1000, 999, 1}, "stored chunk"},
      {{Codec::none, 0xFFFFFFFFFFFFull, 0, 1000, 1000, 1}, "offset"},
  };
  for (const auto& [frame, what] : bad) {
    auto r = decode_record(encode_frame_header(frame), h);
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_EQ(r.status().code(), Errc::corrupt);
    EXPECT_NE(r.status().message().find(what), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("chunk " + std::to_string(frame.seq)), std::string::npos) << r.status().message();
  }

  StreamHeader raw_only = h;
  raw_only.codec = Codec::none;
  auto r = decode_record(encode_frame_header(f), raw_only);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("does not match the stream"), std::string::npos);
}

TEST(Record, AnyFlippedByteInARecordHeaderIsDetected) {
  StreamHeader h = sample_header();
  FrameHeader f{Codec::zstd, 3, 3ull * kChunk, kChunk, 1000, 42};
  const auto good = encode_frame_header(f);
  Trailer t{12345, 9, {}};
  t.digest[3] = 0x55;
  const auto good_trailer = encode_trailer(t);
  for (const auto* rec : {&good, &good_trailer}) {
    for (std::size_t i = 0; i < kRecordHeaderSize; ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        RecordBytes bad = *rec;
        bad[i] ^= static_cast<std::uint8_t>(1u << bit);
        EXPECT_FALSE(decode_record(bad, h).ok()) << "byte " << i << " bit " << bit;
      }
    }
  }
}

TEST(Record, TrailerRoundTrip) {
  Trailer t{12345, 9, {}};
  for (std::size_t i = 0; i < t.digest.size(); ++i) t.digest[i] = static_cast<std::uint8_t>(i * 17);
  auto r = decode_record(encode_trailer(t), sample_header());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::get<Trailer>(*r), t);
}

TEST(Digest, DependsOnOrderAndContent) {
  StreamDigest a, b, c;
  a.add(0, 10, 1);
  a.add(1, 10, 2);
  b.add(1, 10, 2);
  b.add(0, 10, 1);
  c.add(0, 10, 1);
  c.add(1, 10, 3);
  EXPECT_NE(a.finish(), b.finish());
  EXPECT_NE(a.finish(), c.finish());
  StreamDigest a2;
  a2.add(0, 10, 1);
  a2.add(1, 10, 2);
  EXPECT_EQ(a.finish(), a2.finish());
}

TEST(MaxPayload, BoundsTheLargestFrame) {
  EXPECT_GE(max_payload_size(kMaxChunkSize), kMaxChunkSize);
  EXPECT_LT(max_payload_size(kMaxChunkSize), kMaxChunkSize + kMaxChunkSize / 100);
}

}  // namespace
}  // namespace pgm::stream
