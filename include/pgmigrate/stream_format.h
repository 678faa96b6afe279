// The constants of the pgmigrate wire format that a user of the library may need to know
// without reading the stream (docs/stream-format.md): its magic and version, the chunk sizes
// it allows, the codecs a frame may carry. Encoding and decoding stay inside src/stream/.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace pgm::stream {

inline constexpr std::array<std::uint8_t, 8> kMagic = {'P', 'G', 'M', 'I', 'G', 'R', 'T', '1'};
// A far pgmigrate must speak this version (session::version_line names it).
inline constexpr std::uint16_t kFormatVersion = 1;
// What --chunk-size may be.
inline constexpr std::uint32_t kMinChunkSize = 64 * 1024;
inline constexpr std::uint32_t kMaxChunkSize = 64 * 1024 * 1024;
inline constexpr std::size_t kMaxNameLength = 1024;  // the snapshot name in the header
inline constexpr std::size_t kHeaderFixedSize = 42;  // everything before the name
inline constexpr std::size_t kRecordHeaderSize = 40;

enum class Codec : std::uint8_t { none = 0, zstd = 1 };
// "none" / "zstd".
const char* codec_name(Codec codec);

}  // namespace pgm::stream
