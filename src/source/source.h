// The producing end: `zfs send` for a snapshot, or any --send-cmd. Also what the stream
// header says about it (snapshot name, guid) and how big it is expected to be.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/process.h"
#include "zfs/zfs.h"

namespace pgm::source {

struct SourceSpec {
  std::string snapshot;  // POOL/FS@SNAP; may be empty with send_cmd
  zfs::SendFlags flags;
  std::string send_cmd;  // replaces `zfs send` when not empty (run by /bin/sh -c)
  // Resume an interrupted OpenZFS receive: `zfs send -t TOKEN`, which must resume `snapshot`.
  std::string resume_token;
  // Runs every zfs command through this wrapper ("sudo -n" when this pgmigrate is not root;
  // common/elevation.h). Never crosses to the far host, whose pgmigrate decides its own.
  std::string privilege_wrapper;
};

struct Source {
  std::unique_ptr<Subprocess> process;
  std::string snapshot_name;  // for the stream header
  std::uint64_t snapshot_guid = 0;
  std::optional<std::uint64_t> estimated_size;
  std::string describe;  // "zfs send -i tank/fs@a tank/fs@b"
  int fd() { return process->stdout_fd().get(); }
  // Waits for the producer and reports how it ended.
  Status finish();
};

// Checks the snapshot exists (a clear "does not exist" otherwise), reads its guid and a size
// estimate, and starts the producer.
Result<Source> open_source(const SourceSpec& spec);

}  // namespace pgm::source
