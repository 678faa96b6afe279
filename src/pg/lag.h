// How far a standby is behind its primary, from both ends.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "common/cancel.h"
#include "pg/connection.h"
#include "pg/lsn.h"
#include "pgmigrate/status.h"

namespace pgm::pg {

struct LagReport {
  Lsn primary_lsn;                 // pg_current_wal_lsn() on the primary
  std::optional<Lsn> receive_lsn;  // standby: pg_last_wal_receive_lsn()
  std::optional<Lsn> replay_lsn;   // standby: pg_last_wal_replay_lsn()
  bool walsender_found = false;    // a pg_stat_replication row for the slot
  std::optional<Lsn> sent_lsn, write_lsn, flush_lsn, walsender_replay_lsn;
  std::optional<double> write_lag_s, flush_lag_s, replay_lag_s;  // NULL when idle
  std::string state;                                             // walsender state ("streaming", "catchup")

  std::uint64_t sent_bytes() const { return sent_lsn ? lsn_bytes_behind(primary_lsn, *sent_lsn) : 0; }
  std::uint64_t write_bytes() const { return write_lsn ? lsn_bytes_behind(primary_lsn, *write_lsn) : 0; }
  std::uint64_t flush_bytes() const { return flush_lsn ? lsn_bytes_behind(primary_lsn, *flush_lsn) : 0; }
  // The standby's own replay position against the primary: what --wait bounds.
  std::uint64_t replay_bytes() const { return replay_lsn ? lsn_bytes_behind(primary_lsn, *replay_lsn) : UINT64_MAX; }
  std::uint64_t receive_bytes() const { return receive_lsn ? lsn_bytes_behind(primary_lsn, *receive_lsn) : UINT64_MAX; }
};

// One sample. The primary's walsender row is found through the slot (pg_replication_slots.active_pid);
// Errc::not_found when the primary has no such slot.
Result<LagReport> measure_lag(Connection& primary, Connection& standby, const std::string& slot);

// The name wait_for_lag's timeout error gives its `timeout` ("... or raise the timeout"): the
// library does not know which flag set it; the command that ran it puts its flag there
// (cli::name_setting).
inline constexpr const char* kLagTimeoutSetting = "the timeout";

// Samples until the standby streams through `slot` and its replay lag is < `bound` bytes. Errc::timeout after `timeout`; stops on cancel.
// `progress` (optional) is called with every sample.
Result<LagReport> wait_for_lag(Connection& primary, Connection& standby, const std::string& slot, std::uint64_t bound,
                               std::chrono::milliseconds timeout, const CancelToken& cancel,
                               const std::function<void(const LagReport&)>& progress = nullptr);

// `pg lag`'s two ends and the slot the standby streams through.
struct LagSpec {
  std::string primary_conninfo, standby_conninfo, slot;
};

// Both ends connected (as "primary", then "standby") and kept open across samples: one sample
// with measure(), or wait() for wait_for_lag's bound.
class LagProbe {
 public:
  static Result<LagProbe> connect(const LagSpec& spec);
  Result<LagReport> measure() { return measure_lag(primary_, standby_, slot_); }
  Result<LagReport> wait(std::uint64_t bound, std::chrono::milliseconds timeout, const CancelToken& cancel,
                         const std::function<void(const LagReport&)>& progress = nullptr) {
    return wait_for_lag(primary_, standby_, slot_, bound, timeout, cancel, progress);
  }

 private:
  LagProbe(Connection primary, Connection standby, std::string slot)
      : primary_(std::move(primary)), standby_(std::move(standby)), slot_(std::move(slot)) {}
  Connection primary_, standby_;
  std::string slot_;
};

}  // namespace pgm::pg
