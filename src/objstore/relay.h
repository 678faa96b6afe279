// A pgmigrate stream stored as objects (docs/stream-format.md, "Object layout"):
//   PREFIX/header              the encoded stream header, written first (a follower starts on it)
//   PREFIX/data/NNNNNNNNNNNN   frame records of up to chunks_per_object chunks, zero-padded index;
//                              metadata pgm-first, pgm-chunks, pgm-sums (StreamDigest of its
//                              chunks), pgm-xxh3 (XXH3-64 of the object's bytes)
//   PREFIX/manifest.json       written LAST: header, object and chunk counts, total bytes, the
//                              whole-stream digest, snapshot and guid. No manifest: not complete.
// upload_stream reads a whole stream (as `send -` writes it) and stores it; download_stream
// writes the same stream back out, for recv_from_fd to verify chunk by chunk. Neither decodes
// payloads: verification stays in the one place that does it for every transfer.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/cancel.h"
#include "common/io.h"
#include "objstore/location.h"
#include "pgmigrate/status.h"
#include "stream/format.h"

namespace pgm::objstore {

inline constexpr std::uint64_t kDefaultObjectBytes = 32ull << 20;
inline constexpr unsigned kDefaultConcurrency = 4;

struct Manifest {
  std::string header_hex;
  stream::StreamHeader header;
  std::uint64_t chunks_per_object = 0;
  std::uint64_t objects = 0;
  stream::Trailer trailer;
};
std::string encode_manifest(const Manifest& m);
Result<Manifest> decode_manifest(std::string_view text);

std::string header_key(const Location& at);
std::string manifest_key(const Location& at);
std::string data_key(const Location& at, std::uint64_t index);

struct UploadOptions {
  std::uint64_t object_bytes = kDefaultObjectBytes;  // raw bytes per object, rounded to whole chunks
  unsigned concurrency = kDefaultConcurrency;        // PUTs in flight
};
struct UploadSummary {
  std::uint64_t objects = 0;
  std::uint64_t uploaded = 0;  // objects PUT by this run
  std::uint64_t kept = 0;      // objects a killed run had stored that matched and were kept
  std::uint64_t bytes = 0;     // stored bytes PUT by this run
  bool already_complete = false;
};
// Memory: at most concurrency + 2 objects (N being PUT, one queued, one being filled).
Result<UploadSummary> upload_stream(ByteReader& in, const Location& at, const ClientConfig& config, const UploadOptions& opts,
                                    const CancelToken& cancel);

struct DownloadOptions {
  bool follow = false;                                // wait for objects and the manifest of a running upload
  std::chrono::milliseconds follow_timeout{600'000};  // give up when nothing new appears for this long
  std::chrono::milliseconds poll{500};
  unsigned concurrency = kDefaultConcurrency;  // GETs ahead of the writer
};
// Memory: at most concurrency + 1 objects.
Status download_stream(ByteWriter& out, const Location& at, const ClientConfig& config, const DownloadOptions& opts,
                       const CancelToken& cancel);

}  // namespace pgm::objstore
