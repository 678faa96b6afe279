// The closing summary of a transfer, printed on stderr.
#pragma once

#include "pgmigrate/session.h"

namespace pgm::cli {

using session::TransferSummary;

void print_summary(const TransferSummary& s, bool quiet);

}  // namespace pgm::cli
