// Connection strings as the user gave them ("host=db port=5432 password=..." or
// "postgresql://user:secret@db/app"). They go to libpq untouched; anything shown to a human
// or handed to a hook goes through these functions first, so passwords never leak.
#pragma once

#include <string>

#include "pgmigrate/status.h"

namespace pgm::pg {

// The conninfo with the password removed, in key=value form ("host=db port=5432 user=app").
// A string libpq cannot parse is reduced to "<unparseable conninfo>" rather than echoed.
std::string redact_conninfo(const std::string& conninfo);

// OK when libpq can parse the string; otherwise Errc::invalid_argument with libpq's own reason
// (PQconninfoParse), on one line, with any quoted part that could be a password or a URI with
// credentials replaced by "...". Callers check this before any socket is opened.
Status validate_conninfo(const std::string& conninfo);

// A short name for messages: "app@db:5432/postgres" (fields libpq would default are omitted).
std::string describe_conninfo(const std::string& conninfo);

// Quotes a value for a key=value conninfo: bare when safe, else '...' with \ and ' escaped.
std::string quote_conninfo_value(const std::string& value);

// Returns a new conninfo in key=value form with `key` set to `value` (replacing any).
// Passwords are kept: the result is for libpq, never for display.
std::string conninfo_with(const std::string& conninfo, const std::string& key, const std::string& value);
// The conninfo unchanged when it sets `key` already, else conninfo_with(conninfo, key, value).
std::string conninfo_with_default(const std::string& conninfo, const std::string& key, const std::string& value);

}  // namespace pgm::pg
