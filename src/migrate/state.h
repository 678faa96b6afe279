// A migration's state: the typed form of <state>/migrations/<id>.json, and the one object
// through which every thread of a run reads and changes it.
//
// During the final and catch-up steps three threads write the state at once: the slot
// sampler (what the slot retains), the send reporter (bytes and rate of the running send) and
// the catch-up callback (replay lag), beside the step itself. StateFile serializes them: every
// read and change holds its mutex, and a save writes the file under it, so that no two
// threads touch the state or the file at the same moment (tests/migrate/state_race_test.cc
// runs them together under ThreadSanitizer).
//
// The file format is the one earlier versions wrote: the same keys, absent where they were
// absent; keys this version does not know are kept as they were read.
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "pgmigrate/status.h"

namespace pgm::migrate {

// The steps, in the order a run takes them (steps.h gives each its precondition, run and undo).
inline constexpr std::array<std::string_view, 8> kStepNames = {"preflight", "bulk",    "rounds",     "final",
                                                               "standby",   "catchup", "switchover", "cleanup"};

// steps.<name>: when the step began and ended and what it moved.
struct StepRecord {
  std::optional<std::string> status;  // "running", "done"; absent: "pending"
  std::optional<double> started, finished, seconds;
  std::optional<std::uint64_t> bytes;
  std::optional<std::string> detail;
};

// transfer: the send that runs now (written by the reporter, shown by `migrate status`).
struct TransferProgress {
  std::string snapshot;
  std::uint64_t bytes = 0;
  double rate = 0;  // bytes per second over the last report
};

struct State {
  std::string id;
  std::optional<double> started, updated;
  std::optional<std::string> source, target, state, current_step, slot, last_sent, target_pgdata, error, boot_id;
  // Set once the switchover kept the old primary as a standby of the new one through this slot.
  std::optional<std::string> fallback_slot;
  // ... the old primary's data directory on this host, and the new primary (conninfo, no password).
  std::optional<std::string> fallback_pgdata, fallback_new_primary;
  std::optional<int> pid;
  std::optional<std::uint64_t> pid_start, rounds_done, last_round_bytes, referenced, slot_retained, peak_retained, lag_bytes;
  // The source's size before ZFS compression (Preflight::logical): what the bulk send carries.
  std::optional<std::uint64_t> logical;
  std::optional<double> write_window_s;
  std::optional<bool> switched, slot_created, standby_started;
  std::vector<std::string> holds;
  // The OpenZFS pass-through flags the migration was started with (Spec::zfs_flags); absent in
  // a state written before there were any, which is read as none.
  std::optional<std::vector<std::string>> zfs_flags;
  std::map<std::string, StepRecord> steps;
  std::optional<TransferProgress> transfer;
  nlohmann::json unknown = nlohmann::json::object();  // keys of another version, written back as read

  // "pending" unless the step has a status.
  std::string step_status(std::string_view step) const;
  // pgmigrate-<id>-<suffix>: the migration's snapshot names; tag() is its hold tag.
  std::string snap(const std::string& suffix) const { return "pgmigrate-" + id + "-" + suffix; }
  std::string tag() const { return "pgmigrate-" + id; }

  // The document; from_json refuses (Errc::corrupt, one line) a document that is not a
  // migration's state or has a known key of another type (check_state_types).
  nlohmann::json to_json() const;
  static Result<State> from_json(const nlohmann::json& j);
};

// The state of one migration and its file. Thread-safe: every member may be called from any
// thread. Moving one is not: move it only while no other thread can reach it.
class StateFile {
 public:
  StateFile() = default;
  StateFile(std::string path, State state) : path_(std::move(path)), state_(std::move(state)) {}
  StateFile(StateFile&& o) noexcept : path_(std::move(o.path_)), state_(std::move(o.state_)) {}
  StateFile& operator=(StateFile&& o) noexcept {
    path_ = std::move(o.path_);
    state_ = std::move(o.state_);
    return *this;
  }
  StateFile(const StateFile&) = delete;
  StateFile& operator=(const StateFile&) = delete;
  ~StateFile() = default;

  // Reads the file; Errc::corrupt names the file when it is not a migration's state.
  static Result<StateFile> load(const std::string& path);

  const std::string& path() const { return path_; }
  // Shorthands for reads of one field.
  std::string id() const {
    return read([](const State& s) { return s.id; });
  }
  std::string slot() const {
    return read([](const State& s) { return s.slot.value_or(""); });
  }
  std::string snap(const std::string& suffix) const {
    return read([&](const State& s) { return s.snap(suffix); });
  }
  std::string tag() const {
    return read([](const State& s) { return s.tag(); });
  }
  std::string step_status(std::string_view step) const {
    return read([&](const State& s) { return s.step_status(step); });
  }
  // A copy, consistent as of one moment.
  State snapshot() const {
    std::lock_guard<std::mutex> lock(mu_);
    return state_;
  }
  // Runs `fn` on the state under the lock and returns what it returns.
  template <typename Fn>
  std::invoke_result_t<Fn, const State&> read(Fn&& fn) const {
    std::lock_guard<std::mutex> lock(mu_);
    return fn(static_cast<const State&>(state_));
  }
  // Changes the state under the lock; the file is written at the next save().
  template <typename Fn>
  void change(Fn&& fn) {
    std::lock_guard<std::mutex> lock(mu_);
    fn(state_);
  }
  // Changes the state and writes the file, both under the lock.
  template <typename Fn>
  Status update(Fn&& fn) {
    std::lock_guard<std::mutex> lock(mu_);
    fn(state_);
    return save_locked();
  }
  Status save() {
    std::lock_guard<std::mutex> lock(mu_);
    return save_locked();
  }

  // The step bookkeeping of a run (each writes the file; a failed write is not fatal here:
  // the next save repeats it).
  void begin_step(const std::string& step);
  void end_step(const std::string& step, const std::string& status = "done", const std::string& detail = "");
  void add_bytes(const std::string& step, std::uint64_t bytes);

  // The samplers' writes (samplers.h).
  void record_slot_retained(std::uint64_t retained);  // and the peak; saved with the next save
  Status record_transfer(const TransferProgress& t);
  Status record_lag(std::uint64_t replay_bytes);

 private:
  Status save_locked();

  std::string path_;
  mutable std::mutex mu_;
  State state_;
};

}  // namespace pgm::migrate
