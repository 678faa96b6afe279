// fuzz_pg_files: what pgmigrate reads from a Postgres data directory and its tools, which on a
// target comes from whatever the source sent (src/pg/server_tools.h, auto_conf.h,
// control_state.h):
//   - pg_controldata's output (parse_controldata),
//   - postmaster.pid (parse_postmaster_pid),
//   - postgresql.auto.conf (get_auto_conf, set_auto_conf),
//   - global/pg_control itself (read_cluster_state, on a scratch data directory, and
//     parse_pg_control of pg/pg_control.h).
//
// Input: the file's bytes (each parser gets all of them). For set_auto_conf the last line (after
// the last '\n') is the value to set and the rest is the file.
//
// Invariants: parse_controldata's LSNs print back to the same values; postmaster.pid's pid is
// positive; setting a value (without a newline, which no setting can hold) then reading it gives
// it back, and the file stays one line per setting for the keys set; a pg_control state that
// reads is a known DBState; a pg_control that parses has a CRC that matches and a known format.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <string_view>

#include "fuzz_temp_file.h"
#include "pg/auto_conf.h"
#include "pg/control_state.h"
#include "pg/pg_control.h"
#include "pg/server_tools.h"

namespace {

using namespace pgm;

void check_controldata(const std::string& text) {
  const pg::ControlData cd = pg::parse_controldata(text);
  // Re-rendered the way pg_controldata prints them, the fields must read back the same.
  std::string again_text = "Database cluster state:               " + cd.state + "\n";
  if (cd.checkpoint) again_text += "Latest checkpoint location:           " + cd.checkpoint->str() + "\n";
  if (cd.redo) again_text += "Latest checkpoint's REDO location:    " + cd.redo->str() + "\n";
  again_text += "Latest checkpoint's TimeLineID:       " + std::to_string(cd.timeline) + "\n";
  again_text += "Database system identifier:           " + cd.system_identifier + "\n";
  const pg::ControlData again = pg::parse_controldata(again_text);
  if (again.checkpoint != cd.checkpoint || again.redo != cd.redo || again.timeline != cd.timeline || again.state != cd.state ||
      again.system_identifier != cd.system_identifier)
    __builtin_trap();
}

void check_auto_conf(const std::string& all) {
  const std::size_t nl = all.rfind('\n');
  const std::string text = nl == std::string::npos ? std::string() : all.substr(0, nl + 1);
  const std::string value = nl == std::string::npos ? all : all.substr(nl + 1);
  (void)pg::get_auto_conf(all, "primary_conninfo");
  (void)pg::get_auto_conf(all, "Primary_Slot_Name");
  const std::string before_other = pg::get_auto_conf(text, "restore_command");
  const std::string updated = pg::set_auto_conf(text, {{"primary_conninfo", value}, {"Primary_Slot_Name", "pgmigrate_slot"}});
  if (pg::get_auto_conf(updated, "primary_conninfo") != value) __builtin_trap();
  if (pg::get_auto_conf(updated, "primary_slot_name") != "pgmigrate_slot") __builtin_trap();
  // A key not set keeps its value.
  if (pg::get_auto_conf(updated, "restore_command") != before_other) __builtin_trap();
  // Setting again replaces rather than appends: the text is stable.
  if (pg::set_auto_conf(updated, {{"primary_conninfo", value}, {"Primary_Slot_Name", "pgmigrate_slot"}}) != updated) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);

  check_controldata(text);

  if (auto pid = pg::parse_postmaster_pid(text)) {
    if (pid->pid <= 0) __builtin_trap();
  }

  check_auto_conf(text);

  if (auto cf = pg::parse_pg_control(text)) {
    const std::size_t crc_at = cf->pg_control_version == 1800 ? 292 : 288;
    std::uint32_t stored = 0;
    std::memcpy(&stored, text.data() + crc_at, sizeof stored);
    if (pg::crc32c(std::string_view(text).substr(0, crc_at)) != stored) __builtin_trap();
    if (cf->first_major < 12 || cf->last_major > 18 || cf->first_major > cf->last_major) __builtin_trap();
    if (static_cast<int>(cf->state) > static_cast<int>(pg::ClusterState::in_production)) __builtin_trap();
  }

  static const bool made = [] {
    fuzz::temp_dir().subdir("global");
    return true;
  }();
  (void)made;
  fuzz::temp_dir().write("global/pg_control", data, size);
  if (auto state = pg::read_cluster_state(fuzz::temp_dir().path())) {
    if (static_cast<int>(*state) > static_cast<int>(pg::ClusterState::in_production)) __builtin_trap();
    if (pg::cluster_state_name(*state) == nullptr) __builtin_trap();
  }
  return 0;
}
