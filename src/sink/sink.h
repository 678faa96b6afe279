// The consuming end: `zfs receive` into a dataset, or any --recv-cmd. After the stream is
// delivered, checks what arrived: the received snapshot exists with the source's guid.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/process.h"
#include "stream/format.h"
#include "zfs/zfs.h"

namespace pgm::sink {

struct SinkSpec {
  std::string target;  // POOL/FS (or POOL/FS@SNAP); may be empty with recv_cmd
  zfs::RecvFlags flags;
  std::string recv_cmd;  // replaces `zfs receive` when not empty
  // As source::SourceSpec::privilege_wrapper: zfs through "sudo -n" when this pgmigrate is not root.
  std::string privilege_wrapper;
  // Where ZFS can keep an interrupted receive (OpenZFS), ask it to (zfs receive -s). False for a
  // stream that can never continue from a resume token (one read back from object storage: the
  // token's `zfs send -t` needs the source), so that an interruption leaves nothing behind that
  // would refuse the re-run.
  bool keep_partial = true;
};

struct Sink {
  std::unique_ptr<Subprocess> process;
  SinkSpec spec;
  std::string describe;
  bool resumable = false;  // zfs receive -s: an interruption leaves a receive_resume_token
  int fd() { return process->stdin_fd().get(); }
  // The whole stream was delivered: close the consumer's input, wait for it, and (for ZFS)
  // check the received snapshot's guid. Returns the snapshot received, if any.
  Result<std::string> finish(const stream::StreamHeader& header);
  // Something failed: close the consumer's input first (zfs-fuse's daemon reads that pipe
  // itself, so only closing it ends the receive), then stop and reap the consumer.
  void abort();
  // Aborts after the transfer failed with `why`, and returns the better explanation: when
  // the consumer itself failed (and that is why writing to it failed), its own error.
  Status abort_with(Status why);
};

// Validates the target and starts the consumer.
Result<Sink> open_sink(const SinkSpec& spec);

// What a failed `zfs receive` said, turned into the most useful error.
Status classify_recv_failure(const std::string& target, Status failure);

// The snapshot a receive of `header`'s stream into `spec` creates: the target's own snapshot
// name if it gives one, else the source's; "" for a --recv-cmd or an unnamed stream.
std::string received_snapshot_name(const SinkSpec& spec, const stream::StreamHeader& header);
// That snapshot, when the target already holds it with the stream's guid as its newest
// snapshot (an earlier transfer of this stream finished); nullopt otherwise.
std::optional<std::string> already_received(const SinkSpec& spec, const stream::StreamHeader& header);

}  // namespace pgm::sink
