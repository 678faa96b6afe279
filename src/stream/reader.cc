#include "stream/reader.h"

#include <string>
#include <vector>

namespace pgm::stream {

Result<StreamHeader> StreamReader::read_header() {
  std::vector<std::uint8_t> bytes(kHeaderFixedSize);
  auto n = in_.read_full(bytes);
  if (!n) return n.status().context("reading the stream header");
  if (*n == 0) return Status(Errc::truncated, "empty input: no pgmigrate stream header");
  if (*n < kHeaderFixedSize) return Status(Errc::truncated, "stream ended inside the stream header");
  auto size = header_size_from_prefix(bytes);
  if (!size) return size.status();
  bytes.resize(*size);
  auto rest = in_.read_full(std::span(bytes).subspan(kHeaderFixedSize));
  if (!rest) return rest.status().context("reading the stream header");
  if (*rest < *size - kHeaderFixedSize) return Status(Errc::truncated, "stream ended inside the stream header");
  auto header = decode_header(bytes);
  if (!header) return header.status();
  header_ = *header;
  have_header_ = true;
  return header;
}

Result<Item> StreamReader::next() {
  if (!have_header_) return Status(Errc::internal, "StreamReader::next before read_header");
  const std::string at = "chunk " + std::to_string(next_seq_) + " (offset " + std::to_string(logical_offset_) + ")";
  RecordBytes rec;
  auto n = in_.read_full(rec);
  if (!n) return n.status().context("reading " + at);
  if (*n == 0) return Status(Errc::truncated, "stream ended before " + at + " without a trailer");
  if (*n < rec.size()) return Status(Errc::truncated, "stream ended inside the record header of " + at);
  auto record = decode_record(rec, header_);
  if (!record) return record.status().context(at);

  if (const auto* t = std::get_if<Trailer>(&*record)) {
    std::uint8_t extra;
    auto more = in_.read_full(std::span(&extra, 1));
    if (!more) return more.status().context("reading past the trailer");
    if (*more != 0) return Status(Errc::corrupt, "unexpected data after the stream trailer");
    return Item{*t};
  }

  const FrameHeader& f = std::get<FrameHeader>(*record);
  if (strict_order_) {
    if (f.seq < next_seq_)
      return Status(Errc::corrupt, "duplicate chunk " + std::to_string(f.seq) + " (offset " + std::to_string(f.offset) + ") where " + at +
                                       " was expected");
    if (f.seq > next_seq_)
      return Status(Errc::corrupt,
                    "chunk " + std::to_string(f.seq) + " (offset " + std::to_string(f.offset) + ") out of order: expected " + at);
    if (saw_short_chunk_)
      return Status(Errc::corrupt, "chunk " + std::to_string(f.seq) + " follows a short chunk: only the last chunk may be short");
  }
  Frame frame{f, Buffer(f.enc_len)};
  auto got = in_.read_full(frame.payload.whole());
  if (!got) return got.status().context("reading the payload of chunk " + std::to_string(f.seq));
  if (*got < f.enc_len)
    return Status(Errc::truncated,
                  "stream ended inside the payload of chunk " + std::to_string(f.seq) + " (offset " + std::to_string(f.offset) + ")");
  frame.payload.resize(*got);
  next_seq_ = f.seq + 1;
  logical_offset_ = f.offset + f.raw_len;
  if (f.raw_len < header_.chunk_size) saw_short_chunk_ = true;
  return Item{std::move(frame)};
}

Status StreamWriter::write_header(const StreamHeader& header) {
  std::string bytes = encode_header(header);
  return out_.write_all({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
}

Status StreamWriter::write_frame(const FrameHeader& header, std::span<const std::uint8_t> payload) {
  auto rec = encode_frame_header(header);
  PGM_RETURN_IF_ERROR(out_.write_all(rec));
  return out_.write_all(payload);
}

Status StreamWriter::write_trailer(const Trailer& trailer) {
  auto rec = encode_trailer(trailer);
  return out_.write_all(rec);
}

}  // namespace pgm::stream
