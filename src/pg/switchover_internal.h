// Helpers shared by switchover.cc (the sequence) and switchover_fence.cc (the fence and its
// undo). Internal to pg/.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

#include "pg/connection.h"
#include "pgmigrate/status.h"

namespace pgm::pg::switchover_detail {
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

inline double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

inline std::string fmt_s(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3fs", s);
  return buf;
}

// The timeline a primary writes on, from the name of its current WAL file.
inline Result<unsigned> primary_timeline(Connection& c) {
  auto f = c.scalar("SELECT pg_walfile_name(pg_current_wal_lsn())");
  if (!f) return f.status();
  if (f->size() < 8) return Status(Errc::postgres, c.label() + ": unexpected WAL file name '" + *f + "'");
  return static_cast<unsigned>(std::stoul(f->substr(0, 8), nullptr, 16));
}

// A real write: an xid is assigned and committed. Fails on a standby or a fenced server.
inline Status try_write(Connection& c) {
  auto b = c.exec("BEGIN READ WRITE");
  if (!b) return b.status();
  auto x = c.exec("SELECT txid_current()");
  if (!x) {
    (void)c.exec("ROLLBACK");
    return x.status();
  }
  auto e = c.exec("COMMIT");
  return e ? Status::Ok() : e.status();
}

}  // namespace pgm::pg::switchover_detail
