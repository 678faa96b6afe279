#include "codec/codec.h"

#include <zstd.h>

#include <string>

namespace pgm::codec {

Encoder::Encoder(int level) : cctx_(ZSTD_createCCtx()), level_(level) {}
Encoder::~Encoder() { ZSTD_freeCCtx(cctx_); }

Encoded Encoder::encode(Buffer raw) {
  Encoded out;
  out.header.raw_len = static_cast<std::uint32_t>(raw.size());
  out.header.checksum = stream::chunk_checksum(raw.span());
  if (level_ != kNoCompression && cctx_ != nullptr) {
    // Only a result strictly smaller than the input is worth sending compressed, so the
    // output buffer is one byte short of the input: zstd fails fast when it cannot fit.
    Buffer compressed(raw.size() > 0 ? raw.size() - 1 : 0);
    ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, level_);
    ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 0);  // we checksum the raw bytes ourselves
    ZSTD_CCtx_setParameter(cctx_, ZSTD_c_contentSizeFlag, 1);
    std::size_t n =
        compressed.capacity() == 0 ? 0 : ZSTD_compress2(cctx_, compressed.data(), compressed.capacity(), raw.data(), raw.size());
    if (compressed.capacity() > 0 && !ZSTD_isError(n) && n > 0 && n < raw.size()) {
      compressed.resize(n);
      out.header.codec = stream::Codec::zstd;
      out.header.enc_len = static_cast<std::uint32_t>(n);
      out.payload = std::move(compressed);
      return out;
    }
  }
  out.header.codec = stream::Codec::none;
  out.header.enc_len = out.header.raw_len;
  out.payload = std::move(raw);
  return out;
}

Decoder::Decoder() : dctx_(ZSTD_createDCtx()) {}
Decoder::~Decoder() { ZSTD_freeDCtx(dctx_); }

Result<Buffer> Decoder::decode(const stream::FrameHeader& h, Buffer payload) {
  const std::string where = "chunk " + std::to_string(h.seq) + " (offset " + std::to_string(h.offset) + ")";
  if (payload.size() != h.enc_len) return Status(Errc::corrupt, where + ": payload size does not match its frame header");
  Buffer raw;
  if (h.codec == stream::Codec::none) {
    raw = std::move(payload);
  } else {
    // The frame's own content size must agree with the header before anything is allocated.
    unsigned long long content = ZSTD_getFrameContentSize(payload.data(), payload.size());
    if (content == ZSTD_CONTENTSIZE_ERROR || content == ZSTD_CONTENTSIZE_UNKNOWN || content != h.raw_len)
      return Status(Errc::corrupt, where + ": compressed payload is malformed");
    raw = Buffer(h.raw_len);
    std::size_t n = ZSTD_decompressDCtx(dctx_, raw.data(), raw.capacity(), payload.data(), payload.size());
    if (ZSTD_isError(n) || n != h.raw_len)
      return Status(Errc::corrupt, where + ": compressed payload does not decompress (" +
                                       std::string(ZSTD_isError(n) ? ZSTD_getErrorName(n) : "wrong length") + ")");
    raw.resize(n);
  }
  if (stream::chunk_checksum(raw.span()) != h.checksum) return Status(Errc::corrupt, where + ": checksum mismatch");
  return raw;
}

}  // namespace pgm::codec
