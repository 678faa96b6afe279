// The one place where errors become messages and exit codes (docs/usage.md lists them).
#pragma once

#include <string>

#include "pgmigrate/status.h"

namespace pgm::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,   // anything not listed below
  kExitUsage = 2,     // bad command line or argument
  kExitCorrupt = 3,   // the stream failed verification; nothing unverified was written
  kExitChild = 4,     // zfs send / zfs recv / a --send-cmd or --recv-cmd failed
  kExitNetwork = 5,   // unreachable host, dropped connection
  kExitAuth = 6,      // authentication or host key refused
  kExitNoSpace = 7,   // target out of space
  kExitTimeout = 8,   // stall watchdog or --timeout
  kExitPostgres = 9,  // a Postgres step failed
  kExitSighup = 129,
  kExitSigint = 130,
  kExitSigterm = 143,
};

int exit_code_for(const Status& status);
// The inverse, for a pgmigrate that ran on another host: the error class its exit code names.
Errc errc_for_exit_code(int code);
// Errors below cli name a setting in words ("raise the timeout"): the command words it with its
// own flag ("raise --catchup-timeout"). Replaces the first `setting` in the message.
Status name_setting(const Status& status, const std::string& setting, const std::string& flag);
// Prints "pgmigrate: <message>" on stderr (one line) and returns the exit code.
int report(const Status& status);

}  // namespace pgm::cli
