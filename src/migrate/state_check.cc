#include "migrate/state_check.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace pgm::migrate {
namespace {

using nlohmann::json;

enum class Type : std::uint8_t {
  string,
  boolean,
  number,         // any number (read as double)
  integer,        // a whole number, signed or not (read as int)
  unsigned_int,   // a whole number >= 0 (read as std::uint64_t / unsigned)
  string_array,   // an array of strings (iterated, each read as std::string)
  bool_or_array,  // a boolean or an array of strings (see check_target_reply)
  object,         // an object whose own keys are checked by `fields`
  object_of,      // an object whose every value is an object checked by `fields` (steps.<name>)
};

struct Field {
  const char* key;
  Type type;
  const Field* fields = nullptr;  // for object and object_of; the table ends with a null key
};

// steps.<name>: Migration::begin/end/add_bytes, step_status and report_lines (migrate/describe.h).
constexpr Field kStepFields[] = {
    {"status", Type::string},      {"started", Type::number}, {"finished", Type::number}, {"seconds", Type::number},
    {"bytes", Type::unsigned_int}, {"detail", Type::string},  {nullptr, Type::string},
};

// transfer: written by send_step while a send runs, shown by `migrate status`.
constexpr Field kTransferFields[] = {
    {"snapshot", Type::string},
    {"bytes", Type::unsigned_int},
    {"rate", Type::number},
    {nullptr, Type::string},
};

// Every key of the state file that migrate::State reads. Adding a key is one line.
constexpr Field kStateFields[] = {
    {"id", Type::string},
    {"started", Type::number},
    {"source", Type::string},
    {"target", Type::string},
    {"state", Type::string},
    {"current_step", Type::string},
    {"slot", Type::string},
    {"last_sent", Type::string},
    {"target_pgdata", Type::string},
    {"error", Type::string},
    {"pid", Type::integer},
    {"pid_start", Type::unsigned_int},
    {"boot_id", Type::string},
    {"rounds_done", Type::unsigned_int},
    {"last_round_bytes", Type::unsigned_int},
    {"referenced", Type::unsigned_int},
    {"logical", Type::unsigned_int},
    {"slot_retained", Type::unsigned_int},
    {"peak_retained", Type::unsigned_int},
    {"lag_bytes", Type::unsigned_int},
    {"write_window_s", Type::number},
    {"switched", Type::boolean},
    {"slot_created", Type::boolean},
    {"standby_started", Type::boolean},
    {"fallback_slot", Type::string},
    {"fallback_pgdata", Type::string},
    {"fallback_new_primary", Type::string},
    {"holds", Type::string_array},
    {"zfs_flags", Type::string_array},
    {"steps", Type::object_of, kStepFields},
    {"transfer", Type::object, kTransferFields},
    {nullptr, Type::string},
};

// Every key of a `_migrate-target` reply that cmd_migrate.cc reads (migrate_target.cc writes
// them). Adding a key is one line.
constexpr Field kReplyFields[] = {
    // --probe
    {"zfs", Type::string},
    {"recv_resumable", Type::boolean},
    {"recv_no_mount", Type::boolean},
    {"recv_set_props", Type::boolean},
    {"recv_exclude_props", Type::boolean},
    {"pool_exists", Type::boolean},
    {"pool_available", Type::unsigned_int},
    {"pool_mountpoint", Type::string},
    {"dataset_exists", Type::boolean},
    {"mountpoint", Type::string},
    {"snapshots", Type::string_array},
    {"pg_ctl", Type::string},
    {"pg_major_ok", Type::boolean},
    {"replication", Type::string},
    // --abort (and "destroyed" of --destroy-snapshots)
    {"stopped_postgres", Type::boolean},
    {"aborted_receives", Type::string_array},
    {"destroyed", Type::bool_or_array},
    {"removed_clusters", Type::string_array},
    // --far-log
    {"far_log_path", Type::string},
    {"far_log_size", Type::unsigned_int},
    {"far_log", Type::string},
    // --tree-mounts
    {"mounted", Type::string_array},
    {"unmounted", Type::string_array},
    {nullptr, Type::string},
};

// "a string", "a negative number", ...: what the value is, for the message.
std::string describe(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer: return *v.get_ptr<const json::number_integer_t*>() < 0 ? "a negative number" : "a whole number";
    case json::value_t::number_unsigned: return "a whole number";
    case json::value_t::number_float: return "a floating-point number";
    case json::value_t::binary: return "binary data";
    case json::value_t::discarded: return "not JSON";
  }
  return "something else";
}

const char* expected(Type t) {
  switch (t) {
    case Type::string: return "a string";
    case Type::boolean: return "a boolean";
    case Type::number: return "a number";
    case Type::integer: return "a whole number";
    case Type::unsigned_int: return "a non-negative whole number";
    case Type::string_array: return "an array of strings";
    case Type::bool_or_array: return "a boolean or an array of strings";
    case Type::object:
    case Type::object_of: return "an object";
  }
  return "something else";
}

// The key as the message names it; the parts cannot hold a quote that would confuse it, but
// an unknown step name is outside text: keep it short and printable.
std::string printable(const std::string& s) {
  std::string out;
  for (char ch : s.substr(0, 64)) out += (ch >= 0x20 && ch < 0x7f && ch != '\'') ? ch : '?';
  if (s.size() > 64) out += "...";
  return out;
}

Status mismatch(const std::string& key, const json& v, const char* want) {
  return Status(Errc::corrupt, "key '" + key + "' is " + describe(v) + ", expected " + want);
}

bool is_string_array(const json& v, const std::string& key, Status* err) {
  if (!v.is_array()) return false;
  std::size_t i = 0;
  for (const auto& e : v) {
    if (!e.is_string()) {
      *err = mismatch(key + "[" + std::to_string(i) + "]", e, "a string");
      return true;
    }
    ++i;
  }
  return true;
}

Status check_fields(const json& obj, const Field* fields, const std::string& prefix);

Status check_value(const json& v, const Field& f, const std::string& key) {
  Status err;
  switch (f.type) {
    case Type::string:
      if (v.is_string()) return err;
      break;
    case Type::boolean:
      if (v.is_boolean()) return err;
      break;
    case Type::number:
      if (v.is_number()) return err;
      break;
    case Type::integer:
      if (v.is_number_integer()) return err;
      break;
    case Type::unsigned_int:
      if (v.is_number_unsigned()) return err;
      break;
    case Type::string_array:
      if (is_string_array(v, key, &err)) return err;
      break;
    case Type::bool_or_array:
      if (v.is_boolean() || is_string_array(v, key, &err)) return err;
      break;
    case Type::object:
      if (v.is_object()) return check_fields(v, f.fields, key + ".");
      break;
    case Type::object_of:
      if (!v.is_object()) break;
      for (const auto& [name, member] : v.items()) {
        const std::string sub = key + "." + printable(name);
        if (!member.is_object()) return mismatch(sub, member, "an object");
        PGM_RETURN_IF_ERROR(check_fields(member, f.fields, sub + "."));
      }
      return err;
  }
  return mismatch(key, v, expected(f.type));
}

Status check_fields(const json& obj, const Field* fields, const std::string& prefix) {
  for (const Field* f = fields; f->key != nullptr; ++f) {
    auto it = obj.find(f->key);
    if (it == obj.end()) continue;
    PGM_RETURN_IF_ERROR(check_value(*it, *f, prefix + f->key));
  }
  return Status::Ok();
}

Status check_document(const json& j, const Field* fields, const char* what) {
  if (!j.is_object()) return Status(Errc::corrupt, std::string(what) + " is " + describe(j) + ", expected an object");
  return check_fields(j, fields, "");
}

}  // namespace

Status check_state_types(const json& j) { return check_document(j, kStateFields, "the migration state"); }

Status check_target_reply(const json& j) { return check_document(j, kReplyFields, "the reply"); }

}  // namespace pgm::migrate
