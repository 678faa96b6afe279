#include "migrate/state.h"

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

// Every optional member of a StepRecord and of a State with its key: the one list that reading,
// writing and telling known keys from unknown ones go by.
template <typename Rec, typename Fn>
void step_fields(Rec& r, Fn&& fn) {
  fn("status", r.status);
  fn("started", r.started);
  fn("finished", r.finished);
  fn("seconds", r.seconds);
  fn("bytes", r.bytes);
  fn("detail", r.detail);
}

template <typename St, typename Fn>
void state_fields(St& s, Fn&& fn) {
  fn("started", s.started);
  fn("updated", s.updated);
  fn("source", s.source);
  fn("target", s.target);
  fn("state", s.state);
  fn("current_step", s.current_step);
  fn("slot", s.slot);
  fn("last_sent", s.last_sent);
  fn("target_pgdata", s.target_pgdata);
  fn("error", s.error);
  fn("boot_id", s.boot_id);
  fn("pid", s.pid);
  fn("pid_start", s.pid_start);
  fn("rounds_done", s.rounds_done);
  fn("last_round_bytes", s.last_round_bytes);
  fn("referenced", s.referenced);
  fn("logical", s.logical);
  fn("slot_retained", s.slot_retained);
  fn("peak_retained", s.peak_retained);
  fn("lag_bytes", s.lag_bytes);
  fn("write_window_s", s.write_window_s);
  fn("switched", s.switched);
  fn("slot_created", s.slot_created);
  fn("standby_started", s.standby_started);
  fn("fallback_slot", s.fallback_slot);
  fn("fallback_pgdata", s.fallback_pgdata);
  fn("fallback_new_primary", s.fallback_new_primary);
}

bool known(const std::string& key) {
  if (key == "id" || key == "holds" || key == "zfs_flags" || key == "steps" || key == "transfer") return true;
  bool found = false;
  const State none;
  state_fields(none, [&](const char* k, const auto&) { found = found || key == k; });
  return found;
}

StepRecord step_from_json(const json& j) {
  StepRecord r;
  step_fields(r, [&](const char* key, auto& v) { get(j, key, v); });
  return r;
}

json step_to_json(const StepRecord& r) {
  json j = json::object();
  step_fields(r, [&](const char* key, const auto& v) { put(j, key, v); });
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
  state_fields(*this, [&](const char* key, const auto& v) { put(j, key, v); });
  j["holds"] = holds;
  if (zfs_flags) j["zfs_flags"] = *zfs_flags;
  json s = json::object();
  for (const auto& [name, rec] : steps) s[name] = step_to_json(rec);
  j["steps"] = std::move(s);
  if (transfer) j["transfer"] = {{"snapshot", transfer->snapshot}, {"bytes", transfer->bytes}, {"rate", transfer->rate}};
  return j;
}

Result<State> State::from_json(const json& j) {
  if (!j.is_object() || !j.contains("id") || !j["id"].is_string()) return Status(Errc::corrupt, "not a migration state file (no \"id\")");
  PGM_RETURN_IF_ERROR(check_state_types(j));
  State s;
  s.id = j["id"].get<std::string>();
  state_fields(s, [&](const char* key, auto& v) { get(j, key, v); });
  if (auto it = j.find("holds"); it != j.end())
    for (const auto& h : *it) s.holds.push_back(h.get<std::string>());
  if (auto it = j.find("zfs_flags"); it != j.end()) s.zfs_flags = it->get<std::vector<std::string>>();
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
