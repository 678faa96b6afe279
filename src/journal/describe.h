// What `pgmigrate status` shows of the transfers on this host (their journals), worded here
// beside the journal so that the cli only prints: text lines (without their newline) and JSON.
// Pure; nothing prints.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "journal/journal.h"

namespace pgm::journal {

// A journal's state as `status` shows it: "stale" for one whose process is gone before "done".
std::string listed_state(const Listed& l);

// `pgmigrate status --json`: each journal's record with alive, status and age_seconds at `now`
// (seconds since the epoch).
nlohmann::json transfers_json(const std::vector<Listed>& all, double now);

// `pgmigrate status`: a table (SESSION ROLE STATE TARGET POSITION RATE AGE) with a journal's
// note and a gone process's clean-up under its row; "no transfers in progress (state directory
// DIR)" when there are none.
std::vector<std::string> transfers_lines(const std::vector<Listed>& all, double now, const std::string& dir);

}  // namespace pgm::journal
