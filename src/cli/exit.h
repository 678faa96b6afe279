// The one place where errors become messages and exit codes (the codes: common/exit_codes.h;
// docs/usage.md lists them).
#pragma once

#include <string>

#include "common/exit_codes.h"
#include "pgmigrate/status.h"

namespace pgm::cli {

// Errors below cli name a setting in words ("raise the timeout"): the command words it with its
// own flag ("raise --catchup-timeout"). Replaces the first `setting` in the message.
Status name_setting(const Status& status, const std::string& setting, const std::string& flag);
// Prints "pgmigrate: <message>" on stderr (one line) and returns the exit code.
int report(const Status& status);

}  // namespace pgm::cli
