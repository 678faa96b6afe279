#include "pg/slot.h"

#include <spdlog/spdlog.h>

#include "common/units.h"
#include "pg/conninfo.h"

namespace pgm::pg {
namespace {

Result<SlotStatus> read_slot(Connection& c, const std::string& name) {
  const bool v13 = c.server_version_num() >= 130000;
  std::string sql = std::string("SELECT slot_name, slot_type, restart_lsn, active, active_pid, ") +
                    (v13 ? "wal_status, safe_wal_size, " : "NULL AS wal_status, NULL AS safe_wal_size, ") +
                    "CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END AS current_lsn, "
                    "pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END, "
                    "restart_lsn)::bigint AS retained "
                    "FROM pg_replication_slots WHERE slot_name = $1";
  auto r = c.exec(sql, {name});
  if (!r) return r.status();
  if (r->rows() == 0)
    return Status(Errc::not_found, "there is no replication slot '" + name + "' on the " + c.label() +
                                       ": create it with 'pgmigrate pg slot create' or check --slot");
  SlotStatus s;
  s.name = name;
  s.slot_type = r->get(0, "slot_type").value_or("");
  if (auto v = r->get(0, "restart_lsn")) s.restart_lsn = Lsn::parse(*v);
  if (auto v = r->get(0, "current_lsn")) s.current_lsn = Lsn::parse(*v).value_or(Lsn{});
  if (auto v = r->get(0, "retained")) {
    long long n = std::atoll(v->c_str());
    s.retained_bytes = n > 0 ? static_cast<std::uint64_t>(n) : 0;
  }
  s.active = r->get(0, "active").value_or("f") == "t";
  if (auto v = r->get(0, "active_pid")) s.active_pid = std::atol(v->c_str());
  s.wal_status = r->get(0, "wal_status").value_or("");
  if (auto v = r->get(0, "safe_wal_size")) s.safe_wal_size = std::atoll(v->c_str());
  return s;
}

}  // namespace

Status validate_slot_name(const std::string& name) {
  if (name.empty() || name.size() > 63)
    return Status(Errc::invalid_argument, "slot name '" + name + "' must be 1 to 63 characters of a-z, 0-9 and _");
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
      return Status(Errc::invalid_argument, "slot name '" + name + "' may contain only a-z, 0-9 and _");
  }
  return Status::Ok();
}

Result<SlotStatus> create_slot(Connection& primary, const std::string& name) {
  PGM_RETURN_IF_ERROR(validate_slot_name(name));
  auto rec = primary.scalar("SELECT pg_is_in_recovery()");
  if (!rec) return rec.status();
  if (*rec == "t") return Status(Errc::invalid_argument, "the " + primary.label() + " is a standby: create the slot on the primary");
  auto existing = primary.exec("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", {name});
  if (!existing) return existing.status();
  if (existing->rows() > 0)
    return Status(Errc::exists, "replication slot '" + name + "' already exists on the " + primary.label() +
                                    ": use it, or drop it with 'pgmigrate pg slot drop' if it is left over");
  auto r = primary.exec("SELECT pg_create_physical_replication_slot($1, true)", {name});
  if (!r) {
    const std::string m = r.status().message();
    if (primary.last_sqlstate() == "53400" || m.find("max_replication_slots") != std::string::npos)
      return Status(Errc::postgres, "cannot create slot '" + name + "': all max_replication_slots are in use on the " + primary.label() +
                                        "; raise max_replication_slots (restart needed) or drop an unused slot");
    if (primary.last_sqlstate() == "42501")
      return Status(Errc::postgres, "cannot create slot '" + name + "': the user lacks the REPLICATION attribute on the " +
                                        primary.label() + "; connect as a superuser or a role WITH REPLICATION");
    return r.status().context("creating replication slot '" + name + "'");
  }
  return read_slot(primary, name);
}

Result<SlotStatus> slot_status(Connection& primary, const std::string& name) {
  PGM_RETURN_IF_ERROR(validate_slot_name(name));
  return read_slot(primary, name);
}

Status drop_slot(Connection& primary, const std::string& name) {
  PGM_RETURN_IF_ERROR(validate_slot_name(name));
  auto s = read_slot(primary, name);
  if (!s) return s.status();
  if (s->active)
    return Status(Errc::postgres, "replication slot '" + name + "' is in use by a standby (walsender pid " +
                                      std::to_string(s->active_pid.value_or(0)) + ") on the " + primary.label() +
                                      "; stop that standby's replication first");
  auto r = primary.exec("SELECT pg_drop_replication_slot($1)", {name});
  if (!r) return r.status().context("dropping replication slot '" + name + "'");
  return Status::Ok();
}

SlotGuard::SlotGuard(GuardOptions options, CancelToken& trip_token, Observer observer)
    : opt_(std::move(options)), trip_token_(trip_token), observer_(std::move(observer)) {}

SlotGuard::~SlotGuard() { stop(); }

Status SlotGuard::tripped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return tripped_;
}

Status SlotGuard::check_once(Connection& primary, SlotStatus* sample_out) {
  auto s = slot_status(primary, opt_.slot);
  if (!s) return s.status();
  if (sample_out != nullptr) *sample_out = *s;
  if (observer_) observer_(GuardEvent::sample, *s, "");
  std::string why;
  if (s->wal_status == "lost") {
    why = "the primary already removed WAL that slot '" + opt_.slot +
          "' needed (wal_status lost): the standby cannot catch up; start over from a new slot and snapshot";
  } else if (s->wal_status == "unreserved") {
    why = "slot '" + opt_.slot + "' passed max_slot_wal_keep_size (wal_status unreserved): its WAL goes at the next checkpoint";
  } else if (opt_.limit_bytes > 0 && s->retained_bytes >= opt_.limit_bytes) {
    why = "slot '" + opt_.slot + "' retains " + format_bytes(static_cast<double>(s->retained_bytes)) +
          " of WAL on the primary, at or past --wal-limit " + format_bytes(static_cast<double>(opt_.limit_bytes));
  }
  if (!why.empty()) {
    std::string what_next;
    if (opt_.drop_on_limit) {
      Status d = drop_slot(primary, opt_.slot);
      if (d.ok() || d.code() == Errc::not_found) {
        what_next =
            "; dropped the slot to protect the primary: the standby cannot catch up from it, so start over with a new slot and snapshot";
      } else {
        // An active slot cannot be dropped: stop its walsender, then drop.
        auto t = primary.exec(
            "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL",
            {opt_.slot});
        d = t ? Status::Ok() : t.status();
        // A bounded wait (5 s) for the server to end the walsender, with no token: the trip is
        // about to cancel the run, and protecting the primary must not be cut short by that.
        for (int i = 0; i < 50 && d.ok(); ++i) {
          d = drop_slot(primary, opt_.slot);
          if (d.ok() || d.code() == Errc::not_found) {
            d = Status::Ok();
            break;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        what_next =
            d.ok() ? "; dropped the slot (after stopping its walsender) to protect the primary: start over with a new slot and snapshot"
                   : "; could not drop the slot (" + d.message() + "): drop it by hand with 'pgmigrate pg slot drop'";
      }
    } else if (s->wal_status == "lost") {
      what_next = "; drop the slot ('pgmigrate pg slot drop')";
    } else if (s->wal_status == "unreserved") {
      what_next = "; let the standby catch up at once, or raise max_slot_wal_keep_size, or drop the slot ('pgmigrate pg slot drop')";
    } else {
      what_next =
          "; free the primary's disk by dropping the slot ('pgmigrate pg slot drop'), or let the standby catch up, or raise --wal-limit if "
          "the disk has room";
    }
    Status trip(Errc::postgres, why + what_next);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (tripped_.ok()) tripped_ = trip;
    }
    if (observer_) observer_(GuardEvent::trip, *s, trip.message());
    trip_token_.cancel(trip);
    return trip;
  }
  if (opt_.warn_bytes > 0 && s->retained_bytes >= opt_.warn_bytes && !warned_) {
    warned_ = true;
    std::string msg = "slot '" + opt_.slot + "' retains " + format_bytes(static_cast<double>(s->retained_bytes)) +
                      " of WAL on the primary (--wal-warn " + format_bytes(static_cast<double>(opt_.warn_bytes)) +
                      "); watch the primary's free disk space";
    if (observer_) observer_(GuardEvent::warn, *s, msg);
    else spdlog::warn("{}", msg);
  }
  return Status::Ok();
}

Status SlotGuard::start() {
  auto c = Connection::connect(opt_.primary_conninfo, "primary");
  if (!c) return c.status();
  conn_.emplace(std::move(*c));
  Status s = check_once(*conn_);
  if (!s.ok()) return s;
  thread_ = std::thread([this] { loop(); });
  return Status::Ok();
}

void SlotGuard::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SlotGuard::loop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, opt_.interval, [this] { return stopping_; });
      if (stopping_ || !tripped_.ok()) return;
    }
    if (!conn_ || !conn_->alive()) {
      auto c = Connection::connect(opt_.primary_conninfo, "primary");
      if (!c) {
        if (observer_) observer_(GuardEvent::unreachable, SlotStatus{}, c.status().message());
        else spdlog::warn("slot guard: {} (retrying)", c.status().message());
        continue;
      }
      conn_.emplace(std::move(*c));
    }
    Status s = check_once(*conn_);
    if (!tripped().ok()) return;
    if (!s.ok()) {
      if (s.code() == Errc::not_found) {
        Status gone(Errc::not_found, "replication slot '" + opt_.slot +
                                         "' disappeared from the primary: the standby can no longer catch up from it; find out who dropped "
                                         "it, then start over with a new slot and snapshot");
        {
          std::lock_guard<std::mutex> lock(mu_);
          tripped_ = gone;
        }
        if (observer_) observer_(GuardEvent::trip, SlotStatus{}, gone.message());
        trip_token_.cancel(gone);
        return;
      }
      if (observer_) observer_(GuardEvent::unreachable, SlotStatus{}, s.message());
      else spdlog::warn("slot guard: {} (retrying)", s.message());
    }
  }
}

}  // namespace pgm::pg
