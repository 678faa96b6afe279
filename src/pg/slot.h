// The migration's physical replication slot on the primary, and the guard that keeps it from
// filling the primary's disk.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/cancel.h"
#include "pg/connection.h"
#include "pg/lsn.h"
#include "pgmigrate/status.h"

namespace pgm::pg {

inline constexpr const char* kDefaultSlot = "pgmigrate";

// Slot names: 1..63 of [a-z0-9_], as Postgres requires. Checked before any query.
Status validate_slot_name(const std::string& name);

struct SlotStatus {
  std::string name;
  std::string slot_type;           // "physical" / "logical"
  std::optional<Lsn> restart_lsn;  // NULL until WAL is reserved
  Lsn current_lsn;                 // pg_current_wal_lsn() when sampled
  std::uint64_t retained_bytes = 0;
  bool active = false;
  std::optional<long> active_pid;
  std::string wal_status;                     // 13+: reserved/extended/unreserved/lost; "" before 13
  std::optional<std::int64_t> safe_wal_size;  // 13+: NULL when max_slot_wal_keep_size = -1
};

// Creates a physical slot that reserves WAL at once (restart_lsn = the current redo pointer).
// Errc::exists if a slot of that name is there already.
Result<SlotStatus> create_slot(Connection& primary, const std::string& name);
// Errc::not_found if there is no such slot.
Result<SlotStatus> slot_status(Connection& primary, const std::string& name);
// Errc::not_found if absent; Errc::postgres if it is active (a standby still streams from it).
Status drop_slot(Connection& primary, const std::string& name);

struct GuardOptions {
  std::string primary_conninfo;
  std::string slot = kDefaultSlot;
  std::uint64_t warn_bytes = 0;   // 0: no warning
  std::uint64_t limit_bytes = 0;  // 0: only wal_status unreserved/lost trips
  bool drop_on_limit = false;
  std::chrono::milliseconds interval{5000};
};

enum class GuardEvent { sample, warn, trip, unreachable };

// Polls the slot on a thread of its own. It warns once when retention passes warn_bytes, and
// trips when it reaches limit_bytes or wal_status becomes unreserved/lost: then (with
// drop_on_limit) drops the slot and cancels the token it was given, with a reason that says what
// happened and what to do. A transfer that runs with a guard passes its own CancelToken, so the
// trip stops the transfer.
class SlotGuard {
 public:
  using Observer = std::function<void(GuardEvent, const SlotStatus&, const std::string& message)>;
  SlotGuard(GuardOptions options, CancelToken& trip_token, Observer observer = nullptr);
  ~SlotGuard();
  SlotGuard(const SlotGuard&) = delete;
  SlotGuard& operator=(const SlotGuard&) = delete;

  // Samples once (so a missing slot or bad conninfo fails here), then starts polling.
  Status start();
  void stop();
  // Ok while nothing tripped; the trip reason after.
  Status tripped() const;

  // One sample and the decision it leads to; exposed for `pg slot watch` and tests.
  // Returns Ok, or the trip status (and drops the slot if asked).
  Status check_once(Connection& primary, SlotStatus* sample_out = nullptr);

 private:
  void loop();
  GuardOptions opt_;
  CancelToken& trip_token_;
  Observer observer_;
  std::optional<Connection> conn_;
  bool warned_ = false;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  Status tripped_;
  std::thread thread_;
};

}  // namespace pgm::pg
