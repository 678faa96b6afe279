// fuzz_migrate_state: the JSON `pgmigrate migrate` reads back (src/migrate/state_check.h):
//   - its state file <state>/migrations/<id>.json, which a crash or a disk may have damaged;
//   - the replies of the far `pgmigrate _migrate-target`, possibly of another version.
//
// Invariant: when check_state_types (check_target_reply) accepts a document, every read that
// cmd_migrate.cc makes of it, copied below with its accessor patterns (j.value(key, default),
// j[key].get<T>(), iteration), does not throw; a refusal is one non-empty line, Errc::corrupt.
// Keep the copies in step with cmd_migrate.cc when it reads a new key (and add the key to the
// tables in migrate_state.cc).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "migrate/state.h"
#include "migrate/state_check.h"

namespace {

using nlohmann::json;
using pgm::Status;

const std::vector<std::string> kSteps = {"preflight", "bulk", "rounds", "final", "standby", "catchup", "switchover", "cleanup"};

// Keeps the optimiser from dropping the reads.
volatile std::size_t g_sink = 0;
void use(const std::string& s) { g_sink = g_sink + s.size(); }
void use(double d) { g_sink = g_sink + (d > 0 ? 1 : 0); }
void use(std::uint64_t u) { g_sink = g_sink + (u & 1U); }
void use(bool b) { g_sink = g_sink + (b ? 1 : 0); }

void check_refusal(const Status& s) {
  if (s.ok()) return;
  if (s.code() != pgm::Errc::corrupt || s.message().empty() || s.message().find('\n') != std::string::npos) __builtin_trap();
}

// Migration's members (cmd_migrate.cc), on a const and a mutable copy.
std::string step_status(const json& j, const std::string& step) {
  return j.contains("steps") && j["steps"].contains(step) ? j["steps"][step].value("status", "pending") : "pending";
}

void read_state(const json& cj) {
  json j = cj;  // the mutable Migration::j
  use(cj.value("id", ""));
  use(cj.value("slot", ""));
  use(cj.value("started", 0.0));
  for (const auto& step : kSteps) use(step_status(cj, step));
  if (cj.contains("steps") && cj["steps"].is_object())
    for (const auto& [name, _] : cj["steps"].items()) use(step_status(cj, name));

  // run / status / abort / find of the same source.
  use(std::uint64_t(static_cast<unsigned>(cj.value("pid", 0))));
  use(cj.value("state", ""));
  use(cj.value("source", ""));
  use(cj.value("target", ""));
  use(cj.value("current_step", ""));
  use(cj.value("current_step", std::string("-")));
  const double now = 1.7e9;
  use(now - cj.value("started", now));
  use(cj.value("switched", false));
  use(cj.value("slot_created", false));
  if (cj.contains("target_pgdata")) use(cj["target_pgdata"].get<std::string>());
  if (cj.contains("transfer")) {
    const auto& t = cj["transfer"];
    use(t.value("rate", 0.0));
    use(t.value("snapshot", std::string()));
    use(t.value("bytes", std::uint64_t{0}));
  }
  use(cj.value("referenced", std::uint64_t{0}));
  if (cj.contains("slot_retained")) use(cj["slot_retained"].get<std::uint64_t>());
  use(cj.value("peak_retained", std::uint64_t{0}));
  if (cj.contains("lag_bytes")) use(cj["lag_bytes"].get<std::uint64_t>());
  if (cj.contains("error")) use(cj["error"].get<std::string>());

  // The rounds and the final send.
  use(std::uint64_t{cj.value("rounds_done", 0U)});
  use(cj.value("last_round_bytes", UINT64_MAX));
  use(cj.value("last_sent", std::string()));
  use(cj.value("slot_retained", std::uint64_t{0}));

  // Cleanup and abort: release the holds.
  for (const auto& h : cj.value("holds", json::array())) use(h.get<std::string>());

  // The run's report, migrate::report_lines (its caller has begun a step, so "steps" exists there).
  if (cj.contains("steps"))
    for (const auto& step : kSteps) {
      if (!cj["steps"].contains(step)) continue;
      const auto& s = cj["steps"][step];
      use(s.value("status", ""));
      use(s.value("seconds", 0.0));
      if (s.contains("bytes")) use(s["bytes"].get<std::uint64_t>());
      if (s.contains("detail")) use(s["detail"].get<std::string>());
    }
  if (cj.contains("write_window_s")) use(cj["write_window_s"].get<double>());

  // ensure_held_snapshot.
  {
    auto& holds = j["holds"];
    if (!holds.is_array()) holds = json::array();
    bool have = false;
    for (const auto& h : holds)
      if (h == std::string("tank/pg@pgmigrate-x-bulk")) have = true;
    if (!have) holds.push_back("tank/pg@pgmigrate-x-bulk");
  }
  // begin / add_bytes / end on every step, and the writes of a run.
  for (const auto& step : kSteps) {
    j["current_step"] = step;
    auto& s = j["steps"][step];
    if (!s.contains("started")) s["started"] = now;
    s["status"] = "running";
    auto& b = j["steps"][step];
    b["bytes"] = b.value("bytes", std::uint64_t{0}) + 1;
    auto& e = j["steps"][step];
    e["status"] = "done";
    e["finished"] = now;
    e["seconds"] = e.value("finished", 0.0) - e.value("started", now);
  }
  j["steps"]["preflight"] = json::object();
  j["updated"] = now;
  j["pid"] = 1;
  j["state"] = "running";
  j["holds"] = json::array();
  use(j.dump().size() > 0);
}

// The reads of a `_migrate-target` reply: preflight's probe, send_step, step_standby,
// plan printing, step_cleanup (--destroy-snapshots) and abort (--abort).
void read_reply(const json& cj) {
  json far = cj;  // non-const, as the Result<json> there
  use(far.value("pool_exists", false));
  use(far.value("dataset_exists", false));
  use(far.value("pool_available", std::uint64_t{0}));
  use(far.value("pg_major_ok", false));
  use(far.value("pg_ctl", std::string("pg_ctl")));
  use(far.value("replication", std::string()) != "ok");
  use(far.value("replication", std::string("unknown")));
  use(far.value("recv_resumable", false));
  if (far.contains("snapshots"))
    for (const auto& s : far["snapshots"])
      if (s == std::string("tank/pg@pgmigrate-x-bulk")) use(true);
  use(far.value("mountpoint", std::string()));
  use(far.value("zfs", std::string()));
  // "destroyed" is an array in the reply to --destroy-snapshots and a boolean in the reply to
  // --abort: the readers test which (check_target_reply accepts both).
  if (far.contains("destroyed") && far["destroyed"].is_array())
    for (const auto& s : far["destroyed"]) use(s.get<std::string>());
  use(far.value("stopped_postgres", false));
  for (const auto& s : far.value("aborted_receives", json::array())) use(s.get<std::string>());
  if (far.contains("destroyed") && far["destroyed"].is_boolean()) use(far.value("destroyed", false));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return 0;
  const Status state = pgm::migrate::check_state_types(j);
  const Status reply = pgm::migrate::check_target_reply(j);
  check_refusal(state);
  check_refusal(reply);
  try {
    if (state.ok()) read_state(j);
    // The typed state: what the check accepts, with a string id, it reads; what it reads, it
    // writes back and reads again to the same document.
    if (state.ok() && j.contains("id") && j["id"].is_string()) {
      auto typed = pgm::migrate::State::from_json(j);
      if (!typed) __builtin_trap();
      const json back = typed->to_json();
      auto again = pgm::migrate::State::from_json(back);
      if (!again || again->to_json() != back) __builtin_trap();
    }
  } catch (...) {
    __builtin_trap();  // accepted, yet a read threw: a key missing from kStateFields
  }
  try {
    if (reply.ok()) read_reply(j);
  } catch (...) {
    __builtin_trap();  // accepted, yet a read threw: a key missing from kReplyFields
  }
  return 0;
}
