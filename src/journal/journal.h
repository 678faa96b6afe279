// The state a transfer leaves on disk so that it can be found, watched and resumed by
// another process: `pgmigrate status` lists journals, a restarted sender re-attaches to the
// receiver whose journal names the same target, and `pgmigrate abort` removes them.
//
// One transfer, two files in the state directory (0700), both 0600:
//   <session>.json   what the transfer is and where it stands; rewritten atomically
//   <session>.sums   one 12-byte entry per chunk the receiver took, in order:
//                    raw_len u32 | checksum u64 (little-endian). A resumed sender's
//                    regenerated prefix is checked against the digest of these entries.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/cancel.h"
#include "common/fd.h"
#include "common/files.h"
#include "pgmigrate/status.h"
#include "stream/format.h"

namespace pgm::journal {

// The log the far half of every transfer keeps in its state directory (cli/app.cc writes it,
// `migrate far-log` reads it back from the near side).
inline constexpr const char* kFarLogName = "far-half.log";

// --state-dir if given, else $PGMIGRATE_STATE_DIR, else /var/lib/pgmigrate for root and
// $XDG_STATE_HOME/pgmigrate or ~/.local/state/pgmigrate for others. Created 0700.
Result<std::string> state_dir(const std::string& override_dir);
// The same choice without creating anything (for listing). Errc::invalid_argument when there
// is none (a non-root user without HOME): a shared fallback such as /tmp would let another
// user plant the directory.
Result<std::string> choose_state_dir(const std::string& override_dir);
// choose_state_dir, or "" when there is no choice (a listing of "" finds nothing).
std::string state_dir_path(const std::string& override_dir);
// Creates `dir` (and missing parents, 0755) as a private directory, or checks the existing
// one: a real directory (not a symlink), owned by us, made 0700 if it was more open.
Status make_private_dir(const std::string& dir);

struct Record {
  std::string session;  // hex session id of the stream
  std::string role;     // "receive" or "send"
  std::string state;    // "running", "waiting" (for a sender to come back), "done", "failed"
  std::string target;   // the dataset (or consumer) being written, or the peer for a sender
  std::string snapshot;
  std::uint64_t snapshot_guid = 0;
  std::uint32_t chunk_size = 0;
  std::uint64_t chunks = 0;  // chunks delivered to the consumer (receiver) or acknowledged (sender)
  std::uint64_t bytes = 0;
  std::uint64_t estimate = 0;    // expected stream bytes, 0 when unknown
  double rate = 0;               // bytes per second, recent
  std::uint64_t rate_limit = 0;  // the sender's cap (--rate, pgmigrate rate), bytes per second; 0: none
  std::uint64_t resumes = 0;     // times a sender re-attached
  int pid = 0;
  // Who `pid` is: its start time (clock ticks after boot, field 22 of /proc/PID/stat) and the
  // boot it ran in. A pid alone names whichever process has it now (after a reboot perhaps a
  // postmaster); 0 and "" in records written by older versions.
  std::uint64_t pid_start = 0;
  std::string boot_id;
  std::string socket;  // where a resuming sender's control connection attaches
  std::string note;    // one line for people: why it waits, how it failed
  double started = 0;  // unix seconds
  double updated = 0;
};

Result<Record> parse_record(const std::string& json_text);
std::string format_record(const Record& r);

// The start time of `pid` (field 22 of /proc/PID/stat), 0 if there is no such process.
std::uint64_t process_start_ticks(int pid);
// /proc/sys/kernel/random/boot_id, "" if unreadable.
std::string boot_id();
// Any process has `pid` (not a zombie). Only for records that carry no identity.
bool process_alive(int pid);
// The record's process still runs: its pid is alive with the recorded start time and boot
// id (just the pid for a record of an older version, which has neither).
bool process_alive(const Record& r);
// Asks the transfer's process to stop (SIGTERM: it aborts its receive and removes its journal)
// and waits up to `timeout` for it to end. Errc::timeout if it did not. A process whose
// identity does not match the record is never signalled (Ok: the record's process is gone).
Status stop_process(const Record& r, std::chrono::seconds timeout);
// The same by pid alone, for callers without a record (trusts the pid).
Status stop_process(int pid, std::chrono::seconds timeout);
// Seconds since the epoch, the clock of every journal and state file.
double unix_now();

// The state files' plumbing (common/files.h), also used through this namespace by migrate.
using pgm::read_file;
using pgm::write_file_atomic;
// the *.json files directly in `dir` (none if it does not exist).
std::vector<std::string> json_files(const std::string& dir);

class Journal {
 public:
  // Creates <dir>/<session>.json and an empty <session>.sums. When record.pid is this
  // process, records its identity (pid_start, boot_id) in this and every later save.
  static Result<Journal> create(const std::string& dir, const Record& record);
  Journal(Journal&&) noexcept;
  Journal& operator=(Journal&&) noexcept;
  ~Journal();

  // Writes the record (temp file + rename, so readers never see half of it).
  Status save(const Record& record);
  // Appends one entry to the sums file (buffered; flush() makes it durable).
  void add_chunk(std::uint32_t raw_len, std::uint64_t checksum);
  Status flush();
  // Digest of the first `count` entries, as StreamDigest computes it for seqs 0..count-1.
  Result<stream::Digest> prefix_digest(std::uint64_t count);
  // Deletes both files; later calls do nothing.
  Status remove();

 private:
  Journal() = default;
  std::string json_path_, sums_path_;
  std::unique_ptr<std::mutex> mu_;
  std::FILE* sums_ = nullptr;
  std::uint64_t entries_ = 0;
  int pid_ = 0;
  std::uint64_t pid_start_ = 0;
  std::string boot_id_;
};

struct Listed {
  std::string path;
  Record record;
  bool alive = false;  // its process still runs (process_alive(record))
};
// Every journal in `dir` (unreadable ones are reported as failed records with a note).
std::vector<Listed> list(const std::string& dir);
// The journal of a live receive into `target`, if any.
std::optional<Listed> find_receiver(const std::string& dir, const std::string& target);
// Serializes the far halves of receives into one target from "does a receive wait for this
// sender?" until the new receive's journal exists: without it, a sender that reconnects
// while its first far half is still setting up finds nothing waiting and starts a second
// receive beside the first (which zfs refuses: the target exists). An flock on
// <dir>/receive-<hash of target>.lock, released when the lock is destroyed.
class TargetLock {
 public:
  // Waits up to `timeout` for the lock (Errc::timeout naming the target after that).
  static Result<TargetLock> acquire(const std::string& dir, const std::string& target, std::chrono::milliseconds timeout,
                                    const CancelToken& cancel);
  void release() { fd_.reset(); }

 private:
  explicit TargetLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

// Digest of the first `count` entries of a sums file.
Result<stream::Digest> sums_prefix_digest(const std::string& sums_path, std::uint64_t count);
// Removes <session>.json and <session>.sums.
Status remove_files(const std::string& json_path);

}  // namespace pgm::journal
