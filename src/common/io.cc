#include "common/io.h"

#include "common/fd.h"

namespace pgm {

Result<std::size_t> FdReader::read_full(std::span<std::uint8_t> buf) { return pgm::read_full(fd_, buf, cancel_); }
Status FdWriter::write_all(std::span<const std::uint8_t> buf) { return pgm::write_full(fd_, buf, cancel_); }

}  // namespace pgm
