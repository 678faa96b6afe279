// A migration's families for --metrics-file (docs/metrics.md): the step it is in and when that
// began, the slot's retained WAL, the standby's replay lag, read from its state file. The file
// itself is the transfer's writer (session/metrics_file.h), which asks for these at every write.
#pragma once

#include <vector>

#include "common/metrics.h"
#include "migrate/state.h"

namespace pgm::migrate {

// Pure.
std::vector<MetricFamily> migrate_families(const State& s);

}  // namespace pgm::migrate
