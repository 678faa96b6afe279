// Type checks for the JSON that `pgmigrate migrate` reads back: its state file
// (<state>/migrations/<id>.json) and the replies of the far `pgmigrate _migrate-target`.
//
// migrate::State::from_json and the migrate engine read both with j.value(key, default) and
// j[key].get<T>(), which
// throw type_error when a key is present with another type ("started":"x", "pool_exists":"yes"):
// a damaged state file or a far pgmigrate of another version would end the process through
// std::terminate. These checks run once, right after parsing, and turn such a document into
// one line (Errc::corrupt), so that every later read of a known key cannot throw. Unknown keys
// are fine; missing keys are fine (the readers have defaults).
#pragma once

#include <nlohmann/json.hpp>

#include "pgmigrate/status.h"

namespace pgm::migrate {

// A migration's state file: the document must be an object; each key migrate::State reads
// (top-level, steps.<name>.*, transfer.*, holds[]) must have its expected type. Returns
// Errc::corrupt "key 'X' is a string, expected a number" for the first mismatch.
Status check_state_types(const nlohmann::json& j);

// A reply of `pgmigrate _migrate-target` (--probe, --destroy-snapshots, --abort): an object
// whose known keys have their expected types. "destroyed" is an array of strings in the reply
// to --destroy-snapshots and a boolean in the reply to --abort: either is accepted here, so a
// reader must still test which (is_array() / is_boolean()) before using it.
Status check_target_reply(const nlohmann::json& j);

}  // namespace pgm::migrate
