// Chunk encoding: zstd compression (or none) and the raw-bytes checksum. One Encoder or
// Decoder per worker thread: each owns its zstd context, reused for every chunk.
#pragma once

#include <cstdint>
#include <span>

#include "common/buffer.h"
#include "pgmigrate/status.h"
#include "stream/format.h"

struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;

namespace pgm::codec {

// Level 0 means "store raw" (--compress none); 1..19 are zstd levels; negative levels are
// zstd's fast modes.
inline constexpr int kNoCompression = 0;

struct Encoded {
  stream::FrameHeader header;  // codec, raw_len, enc_len, checksum filled; seq/offset not
  Buffer payload;
};

class Encoder {
 public:
  explicit Encoder(int level);
  ~Encoder();
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;

  void set_level(int level) { level_ = level; }
  // Compresses `raw` (taking ownership). A chunk that does not shrink is stored raw, and then
  // the returned payload *is* the input buffer: no copy.
  Encoded encode(Buffer raw);

 private:
  ZSTD_CCtx_s* cctx_ = nullptr;
  int level_;
};

class Decoder {
 public:
  Decoder();
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Decodes and verifies a frame's payload. The result holds exactly raw_len bytes whose
  // checksum matched; anything else is Errc::corrupt naming the chunk and offset.
  Result<Buffer> decode(const stream::FrameHeader& header, Buffer payload);

 private:
  ZSTD_DCtx_s* dctx_ = nullptr;
};

}  // namespace pgm::codec
