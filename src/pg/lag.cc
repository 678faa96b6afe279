#include "pg/lag.h"

#include "common/units.h"

namespace pgm::pg {

Result<LagReport> measure_lag(Connection& primary, Connection& standby, const std::string& slot) {
  LagReport rep;
  // The standby first: measured against a primary position taken after it, lag is never
  // under-reported.
  auto s = standby.exec("SELECT pg_is_in_recovery(), pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()");
  if (!s) return s.status();
  if (s->get(0, 0).value_or("f") != "t")
    return Status(Errc::postgres, "the " + standby.label() + " is not in recovery: it is not a standby (check --standby)");
  if (auto v = s->get(0, 1)) rep.receive_lsn = Lsn::parse(*v);
  if (auto v = s->get(0, 2)) rep.replay_lsn = Lsn::parse(*v);
  auto p = primary.exec(
      "SELECT pg_current_wal_lsn() AS cur, s.slot_name IS NOT NULL AS slot_exists, r.state, r.sent_lsn, r.write_lsn, r.flush_lsn, "
      "r.replay_lsn, "
      "EXTRACT(epoch FROM r.write_lag) AS wl, EXTRACT(epoch FROM r.flush_lag) AS fl, EXTRACT(epoch FROM r.replay_lag) AS rl "
      "FROM (SELECT 1) AS one "
      "LEFT JOIN pg_replication_slots AS s ON s.slot_name = $1 "
      "LEFT JOIN pg_stat_replication AS r ON r.pid = s.active_pid",
      {slot});
  if (!p) return p.status();
  auto cur = Lsn::parse(p->get(0, "cur").value_or(""));
  if (!cur) return Status(Errc::postgres, "the " + primary.label() + " did not report its WAL position (is it a standby? check --primary)");
  rep.primary_lsn = *cur;
  // A slot that does not exist never starts streaming: say so now, not after the whole wait.
  if (p->get(0, "slot_exists").value_or("f") != "t")
    return Status(Errc::not_found, "there is no replication slot '" + slot + "' on the " + primary.label() +
                                       ": pass the slot the standby streams through (--slot), or create it with 'pgmigrate pg slot "
                                       "create --slot " +
                                       slot + "'");
  if (auto st = p->get(0, "state")) {
    rep.walsender_found = true;
    rep.state = *st;
  }
  auto lsn = [&](const char* col) -> std::optional<Lsn> {
    if (auto v = p->get(0, col)) return Lsn::parse(*v);
    return std::nullopt;
  };
  auto secs = [&](const char* col) -> std::optional<double> {
    if (auto v = p->get(0, col)) return std::strtod(v->c_str(), nullptr);
    return std::nullopt;
  };
  rep.sent_lsn = lsn("sent_lsn");
  rep.write_lsn = lsn("write_lsn");
  rep.flush_lsn = lsn("flush_lsn");
  rep.walsender_replay_lsn = lsn("replay_lsn");
  rep.write_lag_s = secs("wl");
  rep.flush_lag_s = secs("fl");
  rep.replay_lag_s = secs("rl");
  return rep;
}

Result<LagReport> wait_for_lag(Connection& primary, Connection& standby, const std::string& slot, std::uint64_t bound,
                               std::chrono::milliseconds timeout, const CancelToken& cancel,
                               const std::function<void(const LagReport&)>& progress) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto rep = measure_lag(primary, standby, slot);
    if (!rep) return rep;
    if (progress) progress(*rep);
    const bool streaming = rep->walsender_found && rep->state == "streaming";
    if (streaming && rep->replay_bytes() < bound) return rep;
    if (std::chrono::steady_clock::now() >= deadline) {
      if (!streaming)
        return Status(Errc::timeout, "the standby does not stream through slot '" + slot + "' (walsender " +
                                         (rep->walsender_found ? rep->state : std::string("absent")) + ") after " +
                                         format_duration(std::chrono::duration<double>(timeout).count()) +
                                         ": check its primary_conninfo, primary_slot_name and server log");
      return Status(Errc::timeout,
                    "the standby is still " +
                        (rep->replay_lsn ? format_bytes(static_cast<double>(rep->replay_bytes())) : std::string("an unknown amount")) +
                        " behind the primary after " + format_duration(std::chrono::duration<double>(timeout).count()) + " (bound " +
                        format_bytes(static_cast<double>(bound)) +
                        "): check that it streams ('pgmigrate pg lag') and that the primary's write rate is below the link's rate, or "
                        "raise " +
                        std::string(kLagTimeoutSetting));
    }
    if (!cancel.wait_for(std::chrono::milliseconds(250))) return cancel.reason();
  }
}

Result<LagProbe> LagProbe::connect(const LagSpec& spec) {
  auto p = Connection::connect(spec.primary_conninfo, "primary");
  if (!p) return p.status();
  auto s = Connection::connect(spec.standby_conninfo, "standby");
  if (!s) return s.status();
  return LagProbe(std::move(*p), std::move(*s), spec.slot);
}

}  // namespace pgm::pg
