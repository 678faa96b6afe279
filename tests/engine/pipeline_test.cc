#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <future>
#include <thread>

#include "common/fd.h"
#include "engine/recv_pipeline.h"
#include "engine/send_pipeline.h"
#include "engine/single_lane.h"
#include "stream/test_util.h"

namespace pgm::engine {
namespace {

using pgm::testing::MemoryReader;
using pgm::testing::MemoryWriter;

constexpr std::uint32_t kChunk = 64 * 1024;

// Feeds `data` into a pipe from a thread, as `zfs send` would.
struct PipeFeeder {
  explicit PipeFeeder(std::string data) {
    // A test that stops reading early closes the pipe under the writer: EPIPE, not a signal.
    std::signal(SIGPIPE, SIG_IGN);
    auto p = make_pipe(0);
    pipe = std::move(*p);
    thread = std::thread([this, d = std::move(data)] {
      CancelToken never;
      (void)write_full(pipe.write.get(), {reinterpret_cast<const std::uint8_t*>(d.data()), d.size()}, never);
      pipe.write.reset();
    });
  }
  ~PipeFeeder() {
    pipe.read.reset();
    thread.join();
  }
  Pipe pipe;
  std::thread thread;
};

RecvOptions recv_options(unsigned workers, std::size_t window) {
  RecvOptions o;
  o.workers = workers;
  o.window = window;
  return o;
}

stream::StreamHeader header_for(std::uint32_t chunk) {
  stream::StreamHeader h;
  h.chunk_size = chunk;
  h.snapshot_name = "t@s";
  return h;
}

std::string encode_through_pipeline(const std::string& raw, SendOptions opts) {
  PipeFeeder feeder(raw);
  CancelToken cancel;
  SendPipeline pipeline(opts, feeder.pipe.read.get(), cancel);
  pipeline.start();
  MemoryWriter out;
  Status s = pump_to_writer(pipeline, header_for(opts.chunk_size), out, nullptr, cancel);
  EXPECT_TRUE(s.ok()) << s.message();
  return out.data;
}

struct RecvResult {
  Status status;
  std::string delivered;
  std::size_t writes = 0;
};

RecvResult decode_through_pipeline(const std::string& bytes, RecvOptions opts = {}) {
  MemoryReader in(bytes);
  stream::StreamReader reader(in, true);
  auto h = reader.read_header();
  if (!h) return {h.status(), {}};
  MemoryWriter sink;
  CancelToken cancel;
  RecvPipeline pipeline(*h, opts, sink, cancel);
  pipeline.start();
  Status s = pump_from_reader(reader, pipeline);
  return {s, sink.data, sink.writes};
}

TEST(Pipeline, RoundTripManyShapes) {
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{kChunk - 1}, std::size_t{kChunk}, std::size_t{kChunk + 1},
                           std::size_t{17 * kChunk + 999}}) {
    for (int level : {0, 1, 3}) {
      std::string raw = pgm::testing::make_payload(size, size % 2 == 0, static_cast<std::uint32_t>(size));
      SendOptions so;
      so.chunk_size = kChunk;
      so.level = level;
      so.workers = 3;
      so.max_chunks = 4;
      std::string wire = encode_through_pipeline(raw, so);
      RecvResult r = decode_through_pipeline(wire, recv_options(3, 4));
      ASSERT_TRUE(r.status.ok()) << "size " << size << " level " << level << ": " << r.status.message();
      ASSERT_EQ(r.delivered.size(), raw.size());
      EXPECT_TRUE(r.delivered == raw) << "size " << size;
    }
  }
}

TEST(Pipeline, WritesWholeChunksNotATrickle) {
  std::string raw = pgm::testing::make_payload(20 * kChunk, true);
  SendOptions so;
  so.chunk_size = kChunk;
  RecvResult r = decode_through_pipeline(encode_through_pipeline(raw, so));
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.writes, 20u);
}

TEST(Pipeline, CorruptChunkStopsBeforeAnyUnverifiedByte) {
  std::string raw = pgm::testing::make_payload(10 * kChunk, false);
  auto built = pgm::testing::build_stream(raw, kChunk);
  // Flip a payload byte of chunk 6.
  std::string bad = built.bytes;
  bad[built.record_offsets[6] + stream::kRecordHeaderSize + 100] ^= 0x01;
  RecvResult r = decode_through_pipeline(bad);
  ASSERT_FALSE(r.status.ok());
  EXPECT_EQ(r.status.code(), Errc::corrupt);
  EXPECT_NE(r.status.message().find("chunk 6"), std::string::npos) << r.status.message();
  // Only verified chunks before the bad one, and never the held-back one, reached the sink.
  EXPECT_LE(r.delivered.size(), 5u * kChunk);
  EXPECT_EQ(r.delivered, raw.substr(0, r.delivered.size()));
}

TEST(Pipeline, TruncatedStreamNeverDeliversTheLastChunk) {
  std::string raw = pgm::testing::make_payload(4 * kChunk + 10, true);
  auto built = pgm::testing::build_stream(raw, kChunk);
  // Everything but the trailer: all frames intact.
  RecvResult r = decode_through_pipeline(built.bytes.substr(0, built.record_offsets.back()));
  ASSERT_FALSE(r.status.ok());
  EXPECT_EQ(r.status.code(), Errc::truncated);
  EXPECT_LT(r.delivered.size(), raw.size());
  EXPECT_EQ(r.delivered, raw.substr(0, r.delivered.size()));
}

TEST(Pipeline, TrailerThatDisagreesIsRejected) {
  std::string raw = pgm::testing::make_payload(3 * kChunk, true);
  auto built = pgm::testing::build_stream(raw, kChunk);
  for (int which = 0; which < 3; ++which) {
    stream::Trailer t = built.trailer;
    if (which == 0) t.total_bytes += 1;
    if (which == 1) t.chunk_count += 1;
    if (which == 2) t.digest[0] ^= 1;
    auto rec = stream::encode_trailer(t);
    std::string bad = built.bytes.substr(0, built.record_offsets.back()) + std::string(rec.begin(), rec.end());
    RecvResult r = decode_through_pipeline(bad);
    ASSERT_FALSE(r.status.ok()) << which;
    EXPECT_LT(r.delivered.size(), raw.size()) << which;
  }
}

TEST(RecvPipeline, ReordersChunksFromSeveralLanes) {
  std::string raw = pgm::testing::make_payload(8 * kChunk + 5, true);
  auto built = pgm::testing::build_stream(raw, kChunk);
  // Collect frames, then submit them in a scrambled order from two threads.
  MemoryReader in(built.bytes);
  stream::StreamReader reader(in, true);
  auto h = reader.read_header();
  std::vector<stream::Frame> frames;
  stream::Trailer trailer;
  for (;;) {
    auto item = reader.next();
    ASSERT_TRUE(item.ok());
    if (auto* f = std::get_if<stream::Frame>(&*item)) {
      frames.push_back(std::move(*f));
    } else {
      trailer = std::get<stream::Trailer>(*item);
      break;
    }
  }
  MemoryWriter sink;
  CancelToken cancel;
  RecvPipeline pipeline(*h, recv_options(2, 16), sink, cancel);
  pipeline.start();
  std::thread odd([&] {
    for (std::size_t i = frames.size(); i-- > 0;)
      if (i % 2 == 1) {
        EXPECT_TRUE(pipeline.submit(std::move(frames[i])).ok());
      }
  });
  std::thread even([&] {
    for (std::size_t i = frames.size(); i-- > 0;)
      if (i % 2 == 0) {
        EXPECT_TRUE(pipeline.submit(std::move(frames[i])).ok());
      }
  });
  odd.join();
  even.join();
  Status s = pipeline.finish(trailer);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(sink.data == raw);
}

TEST(RecvPipeline, DuplicateSubmissionIsAnError) {
  std::string raw = pgm::testing::make_payload(3 * kChunk, true);
  auto built = pgm::testing::build_stream(raw, kChunk);
  MemoryReader in(built.bytes);
  stream::StreamReader reader(in, true);
  auto h = reader.read_header();
  auto first = reader.next();
  auto& f = std::get<stream::Frame>(*first);
  stream::Frame copy{f.header, Buffer(f.payload.size())};
  std::memcpy(copy.payload.data(), f.payload.data(), f.payload.size());
  copy.payload.resize(f.payload.size());
  MemoryWriter sink;
  CancelToken cancel;
  RecvPipeline pipeline(*h, recv_options(1, 8), sink, cancel);
  pipeline.start();
  ASSERT_TRUE(pipeline.submit(std::move(f)).ok());
  Status s = pipeline.submit(std::move(copy));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("duplicate chunk 0"), std::string::npos);
  pipeline.abandon(s);
}

TEST(RecvPipeline, ChunkBeyondTheWindowWaits) {
  std::string raw = pgm::testing::make_payload(6 * kChunk, true);
  auto built = pgm::testing::build_stream(raw, kChunk);
  MemoryReader in(built.bytes);
  stream::StreamReader reader(in, true);
  auto h = reader.read_header();
  std::vector<stream::Frame> frames;
  for (int i = 0; i < 6; ++i) frames.push_back(std::move(std::get<stream::Frame>(*reader.next())));
  MemoryWriter sink;
  CancelToken cancel;
  RecvPipeline pipeline(*h, recv_options(1, 2), sink, cancel);
  pipeline.start();
  // Chunk 3 is outside the window [0, 2) until chunks 0..1 are delivered.
  auto blocked = std::async(std::launch::async, [&] { return pipeline.submit(std::move(frames[3])); });
  EXPECT_EQ(blocked.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout);
  ASSERT_TRUE(pipeline.submit(std::move(frames[0])).ok());
  ASSERT_TRUE(pipeline.submit(std::move(frames[1])).ok());
  ASSERT_TRUE(pipeline.submit(std::move(frames[2])).ok());
  EXPECT_EQ(blocked.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_TRUE(blocked.get().ok());
  pipeline.abandon(Status(Errc::interrupted, "test over"));
}

TEST(SendPipeline, MemoryStaysWithinTheChunkBudget) {
  std::string raw = pgm::testing::make_payload(64 * kChunk, false);
  PipeFeeder feeder(raw);
  CancelToken cancel;
  SendOptions so;
  so.chunk_size = kChunk;
  so.max_chunks = 4;
  so.workers = 2;
  SendPipeline pipeline(so, feeder.pipe.read.get(), cancel);
  pipeline.start();
  // A consumer that takes chunks and never lets go: the reader must stop at the budget.
  std::vector<EncodedChunk> held;
  for (int i = 0; i < 4; ++i) held.push_back(std::move(*pipeline.next()));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_LE(pipeline.counters().raw_bytes.load(), 4u * kChunk);
  held.clear();
  std::size_t rest = 0;
  while (auto c = pipeline.next()) ++rest;
  EXPECT_EQ(rest, 60u);
}

TEST(SendPipeline, CancelStopsABlockedReader) {
  auto p = make_pipe(0);  // a source that never writes
  CancelToken cancel;
  SendOptions so;
  so.chunk_size = kChunk;
  so.workers = 1;
  so.max_chunks = 4;
  SendPipeline pipeline(so, p->read.get(), cancel);
  pipeline.start();
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    cancel.cancel(Status(Errc::interrupted, "interrupted by SIGINT"));
  });
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(pipeline.next().has_value());
  canceller.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

TEST(SendPipeline, AdaptiveLevelRisesWhenTheTransportIsTheBottleneck) {
  // A fast source and a consumer that takes a chunk every 100 ms: encoded chunks wait, so the
  // CPU has room to compress harder.
  std::string raw = pgm::testing::make_payload(400 * kChunk, true);
  PipeFeeder feeder(raw);
  CancelToken cancel;
  SendOptions so;
  so.chunk_size = kChunk;
  so.max_chunks = 16;
  so.workers = 2;
  so.level = 1;
  so.adaptive_max_level = 6;
  SendPipeline pipeline(so, feeder.pipe.read.get(), cancel);
  pipeline.start();
  for (int i = 0; i < 35 && pipeline.next(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_GT(pipeline.counters().level.load(), 1);
  while (pipeline.next()) {
  }  // drain, so the feeder finishes its writes
}

TEST(SendPipeline, AdaptiveLevelFallsWhenTheEncodersAreTheBottleneck) {
  // Level 19 on one encoder cannot keep up with an instant consumer: raw chunks wait.
  std::string raw = pgm::testing::make_payload(96 * kChunk, true);
  PipeFeeder feeder(raw);
  CancelToken cancel;
  SendOptions so;
  so.chunk_size = kChunk;
  so.max_chunks = 8;
  so.workers = 1;
  so.level = 19;
  so.adaptive_max_level = 19;
  SendPipeline pipeline(so, feeder.pipe.read.get(), cancel);
  pipeline.start();
  const auto start = std::chrono::steady_clock::now();
  while (pipeline.counters().level.load() == 19 && std::chrono::steady_clock::now() - start < std::chrono::seconds(5) && pipeline.next()) {
  }
  EXPECT_LT(pipeline.counters().level.load(), 19);
  while (pipeline.next()) {
  }  // drain, so the feeder finishes its writes
}

TEST(SendPipeline, ResumeSkipsTheDeliveredPrefixAfterCheckingIt) {
  std::string raw = pgm::testing::make_payload(20 * kChunk + 100, true);
  // The digest of the first 8 chunks, as a receiver's journal would have it.
  stream::StreamDigest d;
  for (std::uint64_t seq = 0; seq < 8; ++seq)
    d.add(seq, kChunk, stream::chunk_checksum({reinterpret_cast<const std::uint8_t*>(raw.data()) + seq * kChunk, kChunk}));
  const stream::Digest prefix = d.finish();
  {
    PipeFeeder feeder(raw);
    CancelToken cancel;
    SendOptions so;
    so.chunk_size = kChunk;
    SendPipeline pipeline(so, feeder.pipe.read.get(), cancel);
    pipeline.resume_from(8, prefix);
    pipeline.start();
    auto first = pipeline.next();
    ASSERT_TRUE(first.has_value()) << cancel.reason().message();
    EXPECT_EQ(first->header.seq, 8u);
    std::uint64_t n = 1;
    while (pipeline.next()) ++n;
    EXPECT_FALSE(cancel.cancelled());
    EXPECT_EQ(n, 13u);  // chunks 8..20
    EXPECT_EQ(pipeline.trailer().chunk_count, 21u);
    EXPECT_EQ(pipeline.counters().skipped_bytes.load(), 8u * kChunk);
  }
  {
    // Another stream under the same resume point: refused before any chunk is handed out.
    std::string other = raw;
    other[3 * kChunk + 5] ^= 1;
    PipeFeeder feeder(other);
    CancelToken cancel;
    SendOptions so;
    so.chunk_size = kChunk;
    SendPipeline pipeline(so, feeder.pipe.read.get(), cancel);
    pipeline.resume_from(8, prefix);
    pipeline.start();
    EXPECT_FALSE(pipeline.next().has_value());
    ASSERT_TRUE(cancel.cancelled());
    EXPECT_EQ(cancel.reason().code(), Errc::corrupt);
    EXPECT_NE(cancel.reason().message().find("did not produce the same stream"), std::string::npos);
  }
}

stream::Frame copy_frame(const stream::Frame& f) {
  stream::Frame c;
  c.header = f.header;
  c.payload = Buffer(f.payload.size());
  std::memcpy(c.payload.data(), f.payload.data(), f.payload.size());
  c.payload.resize(f.payload.size());
  return c;
}

TEST(RecvPipeline, RewindForgetsWhatWasNotTakenAndRefusesOldLanes) {
  std::string raw = pgm::testing::make_payload(6 * kChunk, true);
  std::string bytes = encode_through_pipeline(raw, SendOptions{kChunk, 1, 1, 8});
  MemoryReader in(bytes);
  stream::StreamReader reader(in, true);
  auto h = reader.read_header();
  ASSERT_TRUE(h.ok());
  std::vector<stream::Frame> frames;
  stream::Trailer trailer;
  while (true) {
    auto item = reader.next();
    ASSERT_TRUE(item.ok());
    if (auto* f = std::get_if<stream::Frame>(&*item)) {
      frames.push_back(std::move(*f));
    } else {
      trailer = std::get<stream::Trailer>(*item);
      break;
    }
  }
  ASSERT_EQ(frames.size(), 6u);
  MemoryWriter sink;
  CancelToken cancel;
  RecvOptions ro = recv_options(1, 8);
  std::vector<std::uint64_t> taken;
  ro.on_corrupt_chunk = [](std::uint64_t, const Status&) {};
  ro.on_take = [&](std::uint32_t, std::uint64_t checksum) { taken.push_back(checksum); };
  RecvPipeline pipeline(*h, ro, sink, cancel);
  pipeline.start();
  const std::uint64_t old_epoch = pipeline.epoch();
  // Chunks 0, 1 and 3 arrive; 2 never does (the old sender died).
  for (int i : {0, 1, 3}) ASSERT_TRUE(pipeline.submit(copy_frame(frames[i]), old_epoch).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(pipeline.rewind_to_taken(), 2u);  // 0 and 1 were taken; 3 is forgotten
  EXPECT_EQ(taken.size(), 2u);
  EXPECT_EQ(pipeline.submit(copy_frame(frames[4]), old_epoch).code(), Errc::network);
  // The new sender resends from chunk 2.
  const std::uint64_t now = pipeline.epoch();
  for (int i : {2, 3, 4, 5}) ASSERT_TRUE(pipeline.submit(copy_frame(frames[i]), now).ok());
  Status s = pipeline.finish(trailer);
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(sink.data, raw);
}

}  // namespace
}  // namespace pgm::engine
