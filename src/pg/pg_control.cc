#include "pg/pg_control.h"

#include <array>
#include <cstring>

namespace pgm::pg {
namespace {

// ControlFileData (src/include/catalog/pg_control.h of each major) opens, in every format below,
// with the same fields at the same offsets:
//   uint64 system_identifier @0; uint32 pg_control_version @8; uint32 catalog_version_no @12;
//   DBState state @16 (a 4-byte enum); pg_time_t time @24; XLogRecPtr checkPoint @32;
//   CheckPoint checkPointCopy @40, which opens with XLogRecPtr redo @40, TimeLineID @48.
// What differs is what follows, and so where the CRC sits: it covers every byte before itself.
//   1201 (12)      bool float4ByVal and float8ByVal, uint32 data_checksum_version, nonce[32]
//   1300 (13-16)   float4ByVal gone (float8ByVal, padding, data_checksum_version, nonce[32])
//   1700 (17)      the same offsets as 1300
//   1800 (18)      CheckPoint's wal_level fills padding it already had; bool
//                  default_char_signedness before the nonce moves the CRC 4 bytes on
// The offsets were checked against files written by each major (tests/pg/pg_control_data).
struct Format {
  std::uint32_t version;
  int first_major, last_major;
  std::size_t crc_offset;
};
constexpr std::array<Format, 4> kFormats{{
    {1201, 12, 12, 288},
    {1300, 13, 16, 288},
    {1700, 17, 17, 288},
    {1800, 18, 18, 292},
}};

constexpr std::size_t kVersionOffset = 8;
constexpr std::size_t kCatalogOffset = 12;
constexpr std::size_t kStateOffset = 16;
constexpr std::size_t kCheckpointOffset = 32;
constexpr std::size_t kRedoOffset = 40;
constexpr std::size_t kTimelineOffset = 48;

template <typename T>
T load(std::string_view bytes, std::size_t offset) {
  T v{};
  std::memcpy(&v, bytes.data() + offset, sizeof v);
  return v;
}

constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1U) != 0 ? (c >> 1) ^ 0x82F63B78U : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto kCrcTable = make_crc_table();

}  // namespace

std::uint32_t crc32c(std::string_view bytes) {
  std::uint32_t crc = 0xFFFFFFFFU;
  for (char ch : bytes) crc = kCrcTable[(crc ^ static_cast<unsigned char>(ch)) & 0xFFU] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFU;
}

Result<ControlFile> parse_pg_control(std::string_view bytes) {
  if (bytes.size() < kTimelineOffset + 4)
    return Status(Errc::corrupt, "pg_control is " + std::to_string(bytes.size()) + " bytes, too short to be a control file");
  ControlFile cf;
  cf.pg_control_version = load<std::uint32_t>(bytes, kVersionOffset);
  const Format* format = nullptr;
  for (const auto& f : kFormats)
    if (f.version == cf.pg_control_version) format = &f;
  if (format == nullptr)
    return Status(Errc::unsupported, "pg_control has format " + std::to_string(cf.pg_control_version) +
                                         ", which pgmigrate does not read (it reads those of Postgres 12 to 18: 1201, 1300, 1700, 1800)");
  if (bytes.size() < format->crc_offset + 4)
    return Status(Errc::corrupt, "pg_control is " + std::to_string(bytes.size()) + " bytes, shorter than its format " +
                                     std::to_string(format->version) + " needs");
  const std::uint32_t stored = load<std::uint32_t>(bytes, format->crc_offset);
  if (crc32c(bytes.substr(0, format->crc_offset)) != stored)
    return Status(Errc::corrupt, "pg_control fails its CRC check: the file is damaged (or was copied while being written)");
  const auto state = load<std::uint32_t>(bytes, kStateOffset);
  if (state > static_cast<std::uint32_t>(ClusterState::in_production))
    return Status(Errc::corrupt, "pg_control holds cluster state " + std::to_string(state) + ", which no Postgres writes");
  cf.system_identifier = load<std::uint64_t>(bytes, 0);
  cf.catalog_version = load<std::uint32_t>(bytes, kCatalogOffset);
  cf.state = static_cast<ClusterState>(state);
  cf.checkpoint = Lsn{load<std::uint64_t>(bytes, kCheckpointOffset)};
  cf.redo = Lsn{load<std::uint64_t>(bytes, kRedoOffset)};
  cf.timeline = load<std::uint32_t>(bytes, kTimelineOffset);
  cf.first_major = format->first_major;
  cf.last_major = format->last_major;
  return cf;
}

Status check_control_major(const ControlFile& control, int major) {
  if (major >= control.first_major && major <= control.last_major) return Status::Ok();
  const std::string written_by = control.first_major == control.last_major
                                     ? "Postgres " + std::to_string(control.first_major)
                                     : "Postgres " + std::to_string(control.first_major) + " to " + std::to_string(control.last_major);
  return Status(Errc::corrupt, "pg_control has format " + std::to_string(control.pg_control_version) + ", written by " + written_by +
                                   ", but PG_VERSION says " + std::to_string(major) + ": the data directory is not one cluster's");
}

}  // namespace pgm::pg
