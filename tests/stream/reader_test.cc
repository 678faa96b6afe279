#include "stream/reader.h"

#include <gtest/gtest.h>

#include "stream/test_util.h"

namespace pgm::stream {
namespace {

using pgm::testing::build_stream;
using pgm::testing::make_payload;
using pgm::testing::MemoryReader;

constexpr std::uint32_t kChunk = 64 * 1024;

// Reads a whole stream; returns the error, or Ok if the trailer was reached.
Status read_all(const std::string& bytes, std::size_t* frames = nullptr) {
  MemoryReader in(bytes);
  StreamReader reader(in, /*strict_order=*/true);
  auto h = reader.read_header();
  if (!h) return h.status();
  std::size_t n = 0;
  for (;;) {
    auto item = reader.next();
    if (!item) return item.status();
    if (std::holds_alternative<Trailer>(*item)) break;
    ++n;
  }
  if (frames) *frames = n;
  return Status::Ok();
}

class StreamReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    raw_ = make_payload(5 * kChunk + 1234, /*compressible=*/true);
    built_ = build_stream(raw_, kChunk);
  }
  std::string raw_;
  pgm::testing::BuiltStream built_;
};

TEST_F(StreamReaderTest, ReadsAValidStream) {
  std::size_t frames = 0;
  Status s = read_all(built_.bytes, &frames);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(frames, 6u);
}

TEST_F(StreamReaderTest, TruncationAtAndInsideEveryRecordIsAnError) {
  std::vector<std::size_t> cuts = {0, 1, kHeaderFixedSize - 1, kHeaderFixedSize, built_.record_offsets.front() - 1};
  for (std::size_t off : built_.record_offsets) {
    for (std::size_t d : {0ul, 1ul, 20ul, kRecordHeaderSize - 1, kRecordHeaderSize, kRecordHeaderSize + 1, kRecordHeaderSize + 500}) {
      if (off + d < built_.bytes.size()) cuts.push_back(off + d);
    }
  }
  cuts.push_back(built_.bytes.size() - 1);
  for (std::size_t cut : cuts) {
    Status s = read_all(built_.bytes.substr(0, cut));
    ASSERT_FALSE(s.ok()) << "cut at " << cut << " was accepted";
    EXPECT_EQ(s.code(), Errc::truncated) << "cut at " << cut << ": " << s.message();
  }
}

TEST_F(StreamReaderTest, TruncationMessageNamesTheChunk) {
  // Cut in the payload of the third frame (chunk 2).
  Status s = read_all(built_.bytes.substr(0, built_.record_offsets[2] + kRecordHeaderSize + 10));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("chunk 2"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("offset " + std::to_string(2 * kChunk)), std::string::npos) << s.message();
}

TEST_F(StreamReaderTest, DuplicatedFrameIsAnError) {
  const auto& o = built_.record_offsets;
  std::string frame1 = built_.bytes.substr(o[1], o[2] - o[1]);
  std::string dup = built_.bytes.substr(0, o[2]) + frame1 + built_.bytes.substr(o[2]);
  Status s = read_all(dup);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Errc::corrupt);
  EXPECT_NE(s.message().find("duplicate chunk 1"), std::string::npos) << s.message();
}

TEST_F(StreamReaderTest, ReorderedFramesAreAnError) {
  const auto& o = built_.record_offsets;
  std::string f1 = built_.bytes.substr(o[1], o[2] - o[1]);
  std::string f2 = built_.bytes.substr(o[2], o[3] - o[2]);
  std::string swapped = built_.bytes.substr(0, o[1]) + f2 + f1 + built_.bytes.substr(o[3]);
  Status s = read_all(swapped);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Errc::corrupt);
  EXPECT_NE(s.message().find("out of order"), std::string::npos) << s.message();
}

TEST_F(StreamReaderTest, MissingFrameIsAnError) {
  const auto& o = built_.record_offsets;
  std::string gap = built_.bytes.substr(0, o[2]) + built_.bytes.substr(o[3]);
  Status s = read_all(gap);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("out of order"), std::string::npos) << s.message();
}

TEST_F(StreamReaderTest, DataAfterTrailerIsAnError) {
  Status s = read_all(built_.bytes + "x");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("after the stream trailer"), std::string::npos);
}

TEST_F(StreamReaderTest, EmptyAndForeignInput) {
  Status s = read_all("");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("empty input"), std::string::npos);
  s = read_all(std::string(200, 'z'));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("not a pgmigrate stream"), std::string::npos);
}

TEST_F(StreamReaderTest, ShortChunkMustBeLast) {
  // A stream whose only short chunk sits in the middle: build two streams and splice.
  std::string raw = make_payload(kChunk / 2, true);
  auto short_stream = build_stream(raw, kChunk);
  const auto& o = built_.record_offsets;
  // short chunk as chunk 0, followed by chunk 1 of the long stream.
  std::string spliced = short_stream.bytes.substr(0, short_stream.record_offsets[1]) + built_.bytes.substr(o[1]);
  Status s = read_all(spliced);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("short chunk"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace pgm::stream
