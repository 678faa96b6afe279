// global/pg_control read by pgmigrate itself, for every Postgres major it drives (12 to 18).
//
// The switchover's clean-stop fence needs the old primary's shutdown checkpoint. pg_controldata
// prints it, but only a pg_controldata of the same major reads a file right, and a host may
// keep a server's binaries without it (upstream builds that ship only postgres, initdb and
// pg_ctl). The file is small and its layout is fixed per pg_control_version, so it is parsed
// here: a format pgmigrate does not know, or a file whose CRC does not match, is refused, never
// guessed at.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "pg/control_state.h"
#include "pg/lsn.h"
#include "pgmigrate/status.h"

namespace pgm::pg {

struct ControlFile {
  std::uint64_t system_identifier = 0;
  std::uint32_t pg_control_version = 0;  // 1201, 1300, 1700, 1800
  std::uint32_t catalog_version = 0;     // catversion.h's CATALOG_VERSION_NO
  ClusterState state = ClusterState::starting_up;
  Lsn checkpoint;  // the latest checkpoint record
  Lsn redo;        // that checkpoint's REDO position (== checkpoint for a shutdown checkpoint)
  std::uint32_t timeline = 0;
  int first_major = 0, last_major = 0;  // the majors that write this pg_control_version
};

// Parses the bytes of a global/pg_control file, written on this architecture (a standby always
// runs on the primary's). Errc::unsupported, in one line, for a pg_control_version pgmigrate
// does not know; Errc::corrupt for a short file, a CRC mismatch or a state no Postgres writes.
Result<ControlFile> parse_pg_control(std::string_view bytes);

// The file's major range agrees with PG_VERSION's major (a copy assembled from two clusters,
// or a PG_VERSION edited by hand, does not).
Status check_control_major(const ControlFile& control, int major);

// CRC-32C (Castagnoli), as Postgres computes pg_control's CRC.
std::uint32_t crc32c(std::string_view bytes);

}  // namespace pgm::pg
