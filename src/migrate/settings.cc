#include "migrate/settings.h"

#include <tuple>

#include "common/elevation.h"
#include "common/units.h"
#include "migrate/target.h"
#include "pg/conninfo.h"
#include "pg/debian_cluster.h"
#include "pg/settings.h"
#include "zfs/zfs.h"

namespace pgm::migrate {

namespace {

// The far end and the names on both hosts, before anything is resolved or connected.
Result<session::Endpoint> check_names(const RunSettings& s) {
  PGM_ASSIGN_OR_RETURN(auto endpoint, session::parse_endpoint(s.target));
  if (endpoint.stdio || endpoint.host.empty()) return Status(Errc::invalid_argument, "--target must be [user@]host:POOL/FS");
  PGM_RETURN_IF_ERROR(zfs::validate_dataset(s.source));
  PGM_RETURN_IF_ERROR(zfs::validate_dataset(endpoint.name));
  return endpoint;
}

}  // namespace

Result<std::string> near_privilege(const RunSettings& s) {
  PGM_ASSIGN_OR_RETURN(auto wrapper, session::local_privilege_wrapper(s.remote));
  if (!wrapper.empty() && s.keep_old_as_standby)
    return Status(Errc::auth, "--keep-old-as-standby writes into the old primary's data directory, which migrate does not do through '" +
                                  wrapper + "', and " + effective_user_name() +
                                  " is not root: run it as root (sudo pgmigrate migrate ...), or switch over without it");
  return wrapper;
}

Status resolve_guard(const GuardSettings& g, Spec& spec) {
  for (auto [text, flag, out] :
       {std::tuple{&g.wal_warn, "--wal-warn", &spec.wal_warn}, std::tuple{&g.wal_limit, "--wal-limit", &spec.wal_limit}}) {
    if (text->empty()) continue;
    auto v = parse_size(*text);
    if (!v) return v.status().context(flag);
    *out = *v;
  }
  if (g.drop_slot_on_limit && spec.wal_limit == 0)
    return Status(Errc::invalid_argument, "--drop-slot-on-limit needs --wal-limit SIZE (the retention at which to drop the slot)");
  spec.drop_slot_on_limit = g.drop_slot_on_limit;
  PGM_ASSIGN_OR_RETURN(spec.guard_interval, pg::sample_interval(g.interval, "--guard-interval"));
  return Status::Ok();
}

Result<Resolved> resolve_run(const RunSettings& s) {
  PGM_ASSIGN_OR_RETURN(auto endpoint, check_names(s));
  PGM_ASSIGN_OR_RETURN(auto wrapper, near_privilege(s));
  if (s.standby_port <= 0 && s.standby.empty()) return Status(Errc::invalid_argument, "--standby-port (or --standby CONNINFO) is required");
  for (const auto* v : {&s.max_lag, &s.delta_target, &s.assume_rate})
    if (auto size = parse_size(*v); !size) return size.status();
  PGM_ASSIGN_OR_RETURN(auto remote, session::resolve_remote(s.remote, endpoint));
  PGM_ASSIGN_OR_RETURN(auto t, session::resolve_transfer(s.transfer));
  Resolved out{{}, std::move(remote), t};
  Spec& spec = out.spec;
  spec.source = s.source;
  spec.target = s.target;
  spec.target_dataset = endpoint.name;
  spec.primary = s.primary;
  spec.standby_conninfo = s.standby.empty() ? pg::conninfo_with(pg::conninfo_with(s.primary, "host", out.remote.network_host), "port",
                                                                std::to_string(s.standby_port))
                                            : s.standby;
  spec.standby_primary = s.standby_primary.empty() ? s.primary : s.standby_primary;
  spec.state_dir = s.state_dir;
  spec.id = s.id;
  spec.bindir = s.bindir;
  spec.standby_port = s.standby_port;
  spec.rounds = s.rounds;
  spec.delta_target = *parse_size(s.delta_target);
  spec.max_lag = *parse_size(s.max_lag);
  spec.primary_pgdata = s.primary_pgdata;
  spec.stop_cmd = s.stop_cmd;
  spec.start_cmd = s.start_cmd;
  spec.pre_fence_hook = s.pre_fence_hook;
  spec.post_hook = s.post_hook;
  spec.keep_snapshots = s.keep_snapshots;
  spec.keep_old_as_standby = s.keep_old_as_standby;
  spec.abandon_logical_slots = s.abandon_logical_slots;
  if (!s.target_cluster.empty()) PGM_RETURN_IF_ERROR(pg::parse_cluster_id(s.target_cluster).status().context("--target-cluster"));
  spec.target_cluster = s.target_cluster;
  spec.run.want_switchover = s.switchover && !s.no_switchover;
  PGM_RETURN_IF_ERROR(resolve_guard(s.guard, spec));
  PGM_RETURN_IF_ERROR(zfs::apply_flags(s.zfs, false, false, spec.send_flags, spec.recv_flags));
  spec.zfs_flags = zfs::flag_words(s.zfs);
  spec.privilege_wrapper = wrapper;
  if (!s.bulk_via.empty()) {
    auto url = session::object_store_url(s.bulk_via);
    if (!url) return url.status().context("--bulk-via");
    spec.bulk_via = *url;
  }
  return out;
}

Status resolve_window(const RunSettings& s, Spec& spec) {
  auto catchup = parse_duration(s.catchup_timeout);
  if (!catchup) return catchup.status().context("--catchup-timeout");
  spec.catchup_timeout = *catchup;
  PGM_ASSIGN_OR_RETURN(auto fence, pg::parse_fence(s.fence));
  spec.fence = fence;
  auto t = parse_duration(s.switch_timeout);
  if (!t) return t.status().context("--timeout");
  spec.switch_timeout = *t;
  return Status::Ok();
}

Result<pg::GuardOptions> resolve_watch(const RunSettings& s) {
  Spec spec;
  PGM_RETURN_IF_ERROR(resolve_guard(s.guard, spec));
  if (spec.wal_warn == 0 && spec.wal_limit == 0)
    return Status(Errc::invalid_argument, "migrate watch needs --wal-limit SIZE (and/or --wal-warn SIZE): the retention to act on");
  spec.primary = s.primary;
  return guard_options(spec);
}

Result<FallbackSpec> resolve_fallback(const RunSettings& s) {
  auto timeout = parse_duration(s.switch_timeout);
  if (!timeout) return timeout.status().context("--timeout");
  return FallbackSpec{s.standby_primary.empty() ? s.primary : s.standby_primary, s.standby, *timeout, s.pre_fence_hook, s.post_hook};
}

Result<std::uint64_t> resolve_far_log_tail(const std::string& text) {
  auto tail = parse_size(text);
  if (!tail) return tail.status().context("--tail");
  if (*tail == 0 || *tail > kMaxFarLogTail)
    return Status(Errc::invalid_argument, "--tail must be between 1 and " + format_bytes(static_cast<double>(kMaxFarLogTail)));
  return tail;
}

}  // namespace pgm::migrate
