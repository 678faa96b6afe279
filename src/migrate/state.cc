#include "migrate/state.h"

#include <algorithm>

#include "journal/journal.h"
#include "migrate/state_check.h"

namespace pgm::migrate {
namespace {

using nlohmann::json;

// Reads `key` into `out` when present. check_state_types has run: the type is the right one.
template <typename T>
void get(const json& j, const char* key, std::optional<T>& out) {
  if (auto it = j.find(key); it != j.end()) out = it->get<T>();
}

template <typename T>
void put(json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}

// Every key State models; the others go to State::unknown.
constexpr std::array<std::string_view, 25> kKnown = {
    "id",        "started",     "updated",  "source",      "target",           "state",         "current_step",
    "slot",      "last_sent",   "target_pgdata",            "error",            "boot_id",       "pid",
    "pid_start", "rounds_done", "last_round_bytes",         "referenced",       "slot_retained", "peak_retained",
    "lag_bytes", "write_window_s",                          "switched",         "slot_created",  "standby_started",
    "holds"};

bool known(const std::string& key) {
  return key == "steps" || key == "transfer" || std::find(kKnown.begin(), kKnown.end(), key) != kKnown.end();
}

StepRecord step_from_json(const json& j) {
  StepRecord r;
  get(j, "status", r.status);
  get(j, "started", r.started);
  get(j, "finished", r.finished);
  get(j, "seconds", r.seconds);
  get(j, "bytes", r.bytes);
  get(j, "detail", r.detail);
  return r;
}

json step_to_json(const StepRecord& r) {
  json j = json::object();
  put(j, "status", r.status);
  put(j, "started", r.started);
  put(j, "finished", r.finished);
  put(j, "seconds", r.seconds);
  put(j, "bytes", r.bytes);
  put(j, "detail", r.detail);
  return j;
}

}  // namespace

std::string State::step_status(std::string_view step) const {
  auto it = steps.find(std::string(step));
  return it != steps.end() && it->second.status ? *it->second.status : "pending";
}

json State::to_json() const {
  json j = unknown.is_object() ? unknown : json::object();
  j["id"] = id;
  put(j, "started", started);
  put(j, "updated", updated);
  put(j, "source", source);
  put(j, "target", target);
  put(j, "state", state);
  put(j, "current_step", current_step);
  put(j, "slot", slot);
  put(j, "last_sent", last_sent);
  put(j, "target_pgdata", target_pgdata);
  put(j, "error", error);
  put(j, "boot_id", boot_id);
  put(j, "pid", pid);
  put(j, "pid_start", pid_start);
  put(j, "rounds_done", rounds_done);
  put(j, "last_round_bytes", last_round_bytes);
  put(j, "referenced", referenced);
  put(j, "slot_retained", slot_retained);
  put(j, "peak_retained", peak_retained);
  put(j, "lag_bytes", lag_bytes);
  put(j, "write_window_s", write_window_s);
  put(j, "switched", switched);
  put(j, "slot_created", slot_created);
  put(j, "standby_started", standby_started);
  j["holds"] = holds;
  json s = json::object();
  for (const auto& [name, rec] : steps) s[name] = step_to_json(rec);
  j["steps"] = std::move(s);
  if (transfer) j["transfer"] = {{"snapshot", transfer->snapshot}, {"bytes", transfer->bytes}, {"rate", transfer->rate}};
  return j;
}

Result<State> State::from_json(const json& j) {
  if (!j.is_object() || !j.contains("id") || !j["id"].is_string())
    return Status(Errc::corrupt, "not a migration state file (no \"id\")");
  PGM_RETURN_IF_ERROR(check_state_types(j));
  State s;
  s.id = j["id"].get<std::string>();
  get(j, "started", s.started);
  get(j, "updated", s.updated);
  get(j, "source", s.source);
  get(j, "target", s.target);
  get(j, "state", s.state);
  get(j, "current_step", s.current_step);
  get(j, "slot", s.slot);
  get(j, "last_sent", s.last_sent);
  get(j, "target_pgdata", s.target_pgdata);
  get(j, "error", s.error);
  get(j, "boot_id", s.boot_id);
  get(j, "pid", s.pid);
  get(j, "pid_start", s.pid_start);
  get(j, "rounds_done", s.rounds_done);
  get(j, "last_round_bytes", s.last_round_bytes);
  get(j, "referenced", s.referenced);
  get(j, "slot_retained", s.slot_retained);
  get(j, "peak_retained", s.peak_retained);
  get(j, "lag_bytes", s.lag_bytes);
  get(j, "write_window_s", s.write_window_s);
  get(j, "switched", s.switched);
  get(j, "slot_created", s.slot_created);
  get(j, "standby_started", s.standby_started);
  if (auto it = j.find("holds"); it != j.end())
    for (const auto& h : *it) s.holds.push_back(h.get<std::string>());
  if (auto it = j.find("steps"); it != j.end())
    for (const auto& [name, rec] : it->items()) s.steps[name] = step_from_json(rec);
  if (auto it = j.find("transfer"); it != j.end()) {
    TransferProgress t;
    t.snapshot = it->value("snapshot", std::string());
    t.bytes = it->value("bytes", std::uint64_t{0});
    t.rate = it->value("rate", 0.0);
    s.transfer = t;
  }
  for (const auto& [key, value] : j.items())
    if (!known(key)) s.unknown[key] = value;
  return s;
}

Result<StateFile> StateFile::load(const std::string& path) {
  auto text = journal::read_file(path);
  if (!text) return text.status();
  const json j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("id") || !j["id"].is_string())
    return Status(Errc::corrupt, path + " is not a migration state file");
  auto state = State::from_json(j);
  if (!state) return state.status().context(path);
  return StateFile(path, std::move(*state));
}

Status StateFile::save_locked() {
  state_.updated = journal::unix_now();
  return journal::write_file_atomic(path_, state_.to_json().dump(2) + "\n");
}

void StateFile::begin_step(const std::string& step) {
  (void)update([&](State& s) {
    s.current_step = step;
    StepRecord& r = s.steps[step];
    if (!r.started) r.started = journal::unix_now();
    r.status = "running";
  });
}

void StateFile::end_step(const std::string& step, const std::string& status, const std::string& detail) {
  (void)update([&](State& s) {
    StepRecord& r = s.steps[step];
    r.status = status;
    r.finished = journal::unix_now();
    r.seconds = *r.finished - r.started.value_or(journal::unix_now());
    if (!detail.empty()) r.detail = detail;
  });
}

void StateFile::add_bytes(const std::string& step, std::uint64_t bytes) {
  change([&](State& s) {
    StepRecord& r = s.steps[step];
    r.bytes = r.bytes.value_or(0) + bytes;
  });
}

void StateFile::record_slot_retained(std::uint64_t retained) {
  change([&](State& s) {
    s.slot_retained = retained;
    if (retained > s.peak_retained.value_or(0)) s.peak_retained = retained;
  });
}

Status StateFile::record_transfer(const TransferProgress& t) {
  return update([&](State& s) { s.transfer = t; });
}

Status StateFile::record_lag(std::uint64_t replay_bytes) {
  return update([&](State& s) { s.lag_bytes = replay_bytes; });
}

}  // namespace pgm::migrate
