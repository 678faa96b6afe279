// The step bodies of the migrate engine (engine.h), internal to src/migrate/.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "pgmigrate/migrate.h"

namespace pgm::migrate {

// What every step works with.
struct Context {
  const Spec& spec;
  Remote& remote;
  CancelToken& cancel;
  Observer* observer = nullptr;  // none: silent (plan)
  // Starts the slot guard (if asked for) once the slot exists; none: no guard (plan).
  std::function<Status()> guard_slot;

  void say(std::string_view step, const std::string& text) const {
    if (observer != nullptr) observer->say(step, text);
  }
};

Result<Preflight> run_preflight(Context& c, const StateFile* m);
// The far command's answer as JSON whose known keys have their types (state_check.h).
Result<nlohmann::json> run_remote_json(Remote& remote, const std::string& command, CancelToken& cancel, const Secrets& secrets = {});
// The migration's own snapshots of `dataset` (pgmigrate-<id>-*): nothing else is ever destroyed.
std::vector<std::string> migration_snapshots(const zfs::Zfs& zfs, const State& m, const std::string& dataset);
// This host's zfs, through spec.privilege_wrapper.
inline zfs::Zfs local_zfs(const Spec& spec) { return zfs::Zfs::with_wrapper(spec.privilege_wrapper); }

// The step table: one entry per step after the preflight (steps.h).
struct StepContext {
  Context& c;
  StateFile& m;
  const Preflight& p;
};
const Step<StepContext>* find_run_step(std::string_view name);

}  // namespace pgm::migrate
