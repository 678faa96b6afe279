// What the cli's own far commands (migrate's run_remote & co.) share with the transfers:
// the session library's reading of a far command's exit.
#pragma once

#include "session/internal.h"

namespace pgm::cli {

using session::explain_far_exit;
using session::kHandshakeTimeout;
using session::kTick;

}  // namespace pgm::cli
