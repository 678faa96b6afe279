#include "migrate/settings.h"

#include <tuple>

#include "common/elevation.h"
#include "common/units.h"
#include "pg/conninfo.h"
#include "pg/debian_cluster.h"
#include "zfs/zfs.h"

namespace pgm::migrate {

namespace {

// The far end and the names on both hosts, before anything is resolved or connected.
Result<session::Endpoint> check_names(const RunSettings& s) {
  auto endpoint = session::parse_endpoint(s.target);
  if (!endpoint) return endpoint.status();
  if (endpoint->stdio || endpoint->host.empty()) return Status(Errc::invalid_argument, "--target must be [user@]host:POOL/FS");
  PGM_RETURN_IF_ERROR(zfs::validate_dataset(s.source));
  PGM_RETURN_IF_ERROR(zfs::validate_dataset(endpoint->name));
  return endpoint;
}

}  // namespace

Result<std::string> near_privilege(const RunSettings& s) {
  auto wrapper = session::local_privilege_wrapper(s.remote);
  if (!wrapper) return wrapper.status();
  if (!wrapper->empty() && s.keep_old_as_standby)
    return Status(Errc::auth, "--keep-old-as-standby writes into the old primary's data directory, which migrate does not do through '" +
                                  *wrapper + "', and " + effective_user_name() +
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
  auto interval = parse_duration(g.interval);
  if (!interval) return interval.status().context("--guard-interval");
  if (interval->count() < 100) return Status(Errc::invalid_argument, "--guard-interval must be at least 100ms");
  spec.guard_interval = *interval;
  return Status::Ok();
}

Result<Resolved> resolve_run(const RunSettings& a) {
  auto endpoint = check_names(a);
  if (!endpoint) return endpoint.status();
  auto wrapper = near_privilege(a);
  if (!wrapper) return wrapper.status();
  if (a.standby_port <= 0 && a.standby.empty()) return Status(Errc::invalid_argument, "--standby-port (or --standby CONNINFO) is required");
  for (const auto* v : {&a.max_lag, &a.delta_target, &a.assume_rate})
    if (auto size = parse_size(*v); !size) return size.status();
  auto remote = session::resolve_remote(a.remote, *endpoint);
  if (!remote) return remote.status();
  auto t = session::resolve_transfer(a.transfer);
  if (!t) return t.status();
  Resolved out{{}, std::move(*remote), *t};
  Spec& s = out.spec;
  s.source = a.source;
  s.target = a.target;
  s.target_dataset = endpoint->name;
  s.primary = a.primary;
  s.standby_conninfo = a.standby.empty() ? pg::conninfo_with(pg::conninfo_with(a.primary, "host", out.remote.network_host), "port",
                                                             std::to_string(a.standby_port))
                                         : a.standby;
  s.standby_primary = a.standby_primary.empty() ? a.primary : a.standby_primary;
  s.state_dir = a.state_dir;
  s.id = a.id;
  s.bindir = a.bindir;
  s.standby_port = a.standby_port;
  s.rounds = a.rounds;
  s.delta_target = *parse_size(a.delta_target);
  s.max_lag = *parse_size(a.max_lag);
  s.primary_pgdata = a.primary_pgdata;
  s.stop_cmd = a.stop_cmd;
  s.start_cmd = a.start_cmd;
  s.pre_fence_hook = a.pre_fence_hook;
  s.post_hook = a.post_hook;
  s.keep_snapshots = a.keep_snapshots;
  s.keep_old_as_standby = a.keep_old_as_standby;
  s.abandon_logical_slots = a.abandon_logical_slots;
  if (!a.target_cluster.empty()) PGM_RETURN_IF_ERROR(pg::parse_cluster_id(a.target_cluster).status().context("--target-cluster"));
  s.target_cluster = a.target_cluster;
  s.run.want_switchover = a.switchover && !a.no_switchover;
  PGM_RETURN_IF_ERROR(resolve_guard(a.guard, s));
  PGM_RETURN_IF_ERROR(zfs::apply_flags(a.zfs, false, false, s.send_flags, s.recv_flags));
  s.zfs_flags = zfs::flag_words(a.zfs);
  s.privilege_wrapper = *wrapper;
  if (!a.bulk_via.empty()) {
    auto url = session::object_store_url(a.bulk_via);
    if (!url) return url.status().context("--bulk-via");
    s.bulk_via = *url;
  }
  return out;
}

Status resolve_window(const RunSettings& a, Spec& s) {
  auto catchup = parse_duration(a.catchup_timeout);
  if (!catchup) return catchup.status().context("--catchup-timeout");
  s.catchup_timeout = *catchup;
  auto fence = pg::parse_fence(a.fence);
  if (!fence) return fence.status();
  s.fence = *fence;
  auto t = parse_duration(a.switch_timeout);
  if (!t) return t.status().context("--timeout");
  s.switch_timeout = *t;
  return Status::Ok();
}

}  // namespace pgm::migrate
