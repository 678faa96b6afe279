// postgresql.auto.conf: the file ALTER SYSTEM writes and Postgres reads last. Editing it (rather
// than postgresql.conf, which may live elsewhere or be managed by configuration tools) is how
// pg_basebackup -R configures a standby too.
#pragma once

#include <map>
#include <string>

namespace pgm::pg {

// Quotes a value as ALTER SYSTEM does: '...' with ' and \ doubled.
std::string quote_conf_value(const std::string& value);

// Returns `text` (the file's contents) with each key of `settings` set: earlier lines setting
// that key (names compare case-insensitively, as in Postgres) are dropped and one line per key
// is appended. Every other line, comments included, is kept in order.
std::string set_auto_conf(const std::string& text, const std::map<std::string, std::string>& settings);

// Reads the value a postgresql.auto.conf text gives `key` (last one wins), unquoted; "" if unset.
std::string get_auto_conf(const std::string& text, const std::string& key);

}  // namespace pgm::pg
