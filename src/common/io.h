// The seam between the engine and whatever carries bytes: a pipe, stdin/stdout, an SSH
// channel, a TLS socket. The stream layer reads and writes through these and nothing else.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/cancel.h"
#include "pgmigrate/status.h"

namespace pgm {

class ByteReader {
 public:
  virtual ~ByteReader() = default;
  // Fills `buf` unless the stream ends first; returns how many bytes were read (fewer than
  // buf.size() only at end of stream).
  virtual Result<std::size_t> read_full(std::span<std::uint8_t> buf) = 0;
};

class ByteWriter {
 public:
  virtual ~ByteWriter() = default;
  virtual Status write_all(std::span<const std::uint8_t> buf) = 0;
};

// A pipe, file or socket fd that the caller owns.
class FdReader final : public ByteReader {
 public:
  FdReader(int fd, const CancelToken& cancel) : fd_(fd), cancel_(cancel) {}
  Result<std::size_t> read_full(std::span<std::uint8_t> buf) override;

 private:
  int fd_;
  const CancelToken& cancel_;
};

class FdWriter final : public ByteWriter {
 public:
  FdWriter(int fd, const CancelToken& cancel) : fd_(fd), cancel_(cancel) {}
  Status write_all(std::span<const std::uint8_t> buf) override;

 private:
  int fd_;
  const CancelToken& cancel_;
};

}  // namespace pgm
