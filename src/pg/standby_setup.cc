#include "pg/standby_setup.h"

namespace pgm::pg {

Result<StandbySetup> set_up_standby(const StandbySetupSpec& spec) {
  StandbySetup out;
  auto dir = inspect_data_dir(spec.pgdata);
  if (!dir) return dir.status();
  out.dir = std::move(*dir);
  if (spec.debian) {
    StandbySetup::Debian d;
    d.target.id = spec.debian->id;
    d.target.pgdata = out.dir.path;
    d.target.port = spec.standby.port;
    auto rendered = plan_target_cluster(spec.debian->bundle, d.target, out.dir);
    if (!rendered) return rendered.status();
    d.rendered = std::move(*rendered);
    out.debian = std::move(d);
  }
  auto prep = prepare_standby(out.dir, spec.standby);
  if (!prep) return prep.status();
  out.prepared = std::move(*prep);
  if (!spec.relink.empty()) {
    auto relinked = relink_data_dir(out.dir, spec.relink);
    if (!relinked) return relinked.status();
    out.relinked = std::move(*relinked);
  }
  if (out.debian) {
    auto written = write_cluster_config(out.debian->rendered, out.debian->target, out.dir);
    if (!written) return written.status();
    out.debian->written = std::move(*written);
  }
  return out;
}

}  // namespace pgm::pg
