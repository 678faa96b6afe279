#include "pg/settings.h"

#include <tuple>
#include <utility>

#include "common/units.h"
#include "pg/debian_cluster.h"
#include "pg/relink.h"

namespace pgm::pg {
namespace {

// Stores a setting's value in `out`, or returns why it could not be read.
template <typename T>
Status take(Result<T> value, T& out) {
  if (!value) return value.status();
  out = std::move(*value);
  return Status::Ok();
}

// An empty size is 0: "not set" for the guard's warning and limit.
Result<std::uint64_t> size_setting(const std::string& text, const char* flag) {
  if (text.empty()) return std::uint64_t{0};
  auto v = parse_size(text);
  if (!v) return v.status().context(flag);
  return v;
}

Result<std::chrono::milliseconds> duration_setting(const std::string& text, const char* flag) {
  auto v = parse_duration(text);
  if (!v) return v.status().context(flag);
  return v;
}

// What the guard and `pg slot watch` share; they differ in the interval's flag.
Result<GuardOptions> guard_from(const SlotGuardSettings& s, const char* interval_flag) {
  GuardOptions g;
  g.primary_conninfo = s.primary;
  g.slot = s.slot;
  g.drop_on_limit = s.drop_on_limit;
  PGM_RETURN_IF_ERROR(take(size_setting(s.wal_warn, "--wal-warn"), g.warn_bytes));
  PGM_RETURN_IF_ERROR(take(size_setting(s.wal_limit, "--wal-limit"), g.limit_bytes));
  PGM_RETURN_IF_ERROR(take(sample_interval(s.interval, interval_flag), g.interval));
  return g;
}

Result<std::optional<DebianStandby>> debian_standby(const StandbySettings& s) {
  const std::string &cluster = s.debian_cluster, &bundle_file = s.config_bundle, &bundle_json = s.config_bundle_json;
  if (!bundle_file.empty() && !bundle_json.empty())
    return Status(Errc::invalid_argument, "--config-bundle and --config-bundle-json: give the bundle one way");
  if (cluster.empty() != (bundle_file.empty() && bundle_json.empty()))
    return Status(Errc::invalid_argument,
                  "--debian-cluster and --config-bundle go together: the bundle comes from `pgmigrate pg cluster export` "
                  "on the source");
  if (cluster.empty()) return std::optional<DebianStandby>();
  auto id = parse_cluster_id(cluster);
  if (!id) return id.status().context("--debian-cluster");
  auto bundle = bundle_json.empty() ? read_bundle_file(bundle_file) : bundle_from_json(bundle_json);
  if (!bundle) return bundle_json.empty() ? bundle.status() : bundle.status().context("--config-bundle-json");
  return std::optional<DebianStandby>(DebianStandby{*id, std::move(*bundle)});
}

}  // namespace

Result<std::chrono::milliseconds> sample_interval(const std::string& text, const char* flag) {
  PGM_ASSIGN_OR_RETURN(auto interval, duration_setting(text, flag));
  if (interval.count() < 100) return Status(Errc::invalid_argument, std::string(flag) + " must be at least 100ms");
  return interval;
}

Result<std::optional<GuardOptions>> slot_guard_options(const SlotGuardSettings& s) {
  if (s.primary.empty()) {
    if (!s.wal_warn.empty() || !s.wal_limit.empty() || s.drop_on_limit)
      return Status(Errc::invalid_argument, "--wal-warn, --wal-limit and --drop-slot-on-limit need --primary");
    return std::optional<GuardOptions>();
  }
  PGM_ASSIGN_OR_RETURN(auto g, guard_from(s, "--guard-interval"));
  return std::optional<GuardOptions>(std::move(g));
}

SlotSpec slot_spec(const SlotSettings& s) { return SlotSpec{s.guard.primary, s.guard.slot}; }

Result<SlotWatchSpec> slot_watch_spec(const SlotSettings& s) {
  SlotWatchSpec spec;
  PGM_RETURN_IF_ERROR(take(guard_from(s.guard, "--interval"), spec.guard));
  if (!s.duration.empty()) PGM_RETURN_IF_ERROR(take(duration_setting(s.duration, "--duration"), spec.duration.emplace()));
  return spec;
}

Result<StandbyRequest> standby_request(const StandbySettings& s) {
  StandbyRequest r;
  StandbySetupSpec& spec = r.setup;
  spec.pgdata = s.pgdata;
  for (const auto& text : s.relink) {
    PGM_ASSIGN_OR_RETURN(auto m, parse_relocation(text));
    spec.relink.push_back(std::move(m));
  }
  PGM_RETURN_IF_ERROR(take(duration_setting(s.timeout, "--timeout"), r.start.timeout));
  spec.standby.primary_conninfo = s.primary;
  spec.standby.slot = s.slot;
  if (s.port != 0) {
    if (s.port < 1 || s.port > 65535) return Status(Errc::invalid_argument, "--port must be 1..65535");
    spec.standby.port = s.port;
  }
  PGM_ASSIGN_OR_RETURN(auto debian, debian_standby(s));
  spec.debian = std::move(debian);
  if (spec.debian && !s.log.empty())
    return Status(Errc::invalid_argument,
                  "--log does not apply with --debian-cluster: postgresql-common logs to " + cluster_log_file(spec.debian->id));
  r.start.bindir = s.bindir;
  r.start.log_file = s.log;
  r.start.check_conninfo = s.standby;
  return r;
}

StartOptions start_options(const StandbyRequest& request, const StandbySetup& done) {
  StartOptions so = request.start;
  if (done.debian) so.debian_cluster = done.debian->target.id;
  return so;
}

LagSpec lag_spec(const LagSettings& s) { return LagSpec{s.primary, s.standby, s.slot}; }

Result<LagWait> lag_wait(const LagSettings& s) {
  LagWait w;
  PGM_RETURN_IF_ERROR(take(size_setting(s.wait, "--wait"), w.bound));
  PGM_RETURN_IF_ERROR(take(duration_setting(s.timeout, "--timeout"), w.timeout));
  return w;
}

Result<SwitchoverOptions> switchover_options(const SwitchoverSettings& s) {
  SwitchoverOptions o;
  o.primary_conninfo = s.primary;
  o.standby_conninfo = s.standby;
  o.slot = s.slot;
  PGM_RETURN_IF_ERROR(take(parse_fence(s.fence), o.fence));
  o.primary_pgdata = s.primary_pgdata;
  o.primary_cluster = s.primary_cluster;
  o.stop_cmd = s.stop_cmd;
  o.start_cmd = s.start_cmd;
  o.primary_log = s.primary_log;
  o.bindir = s.bindir;
  o.keep_old_as_standby = s.keep_old_as_standby;
  o.fallback_slot = s.fallback_slot;
  o.direction = s.direction;
  auto max_lag = parse_size(s.max_lag);
  if (!max_lag) return max_lag.status().context("--max-lag");
  o.max_lag = *max_lag;
  for (auto [text, flag, out] :
       {std::tuple{&s.timeout, "--timeout", &o.timeout}, std::tuple{&s.stop_timeout, "--stop-timeout", &o.stop_timeout},
        std::tuple{&s.hook_timeout, "--hook-timeout", &o.hook_timeout}})
    PGM_RETURN_IF_ERROR(take(duration_setting(*text, flag), *out));
  return o;
}

}  // namespace pgm::pg
