// pgmigrate's exit codes, one table for both directions: what this process exits with
// (cli/exit.cc reports through it) and what a far pgmigrate's exit code says (a far command
// that migrate or a transfer runs over SSH). docs/usage.md lists them.
#pragma once

#include "pgmigrate/status.h"

namespace pgm {

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

}  // namespace pgm
