// The transfers this host takes part in, as their journals (src/journal) record them: ending
// one for good (`pgmigrate abort`) and changing a running one's rate cap (`pgmigrate rate`,
// rate_control.h). `say` hears each thing done, one line each, as it is done.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "pgmigrate/status.h"

namespace pgm::session {

using SayFn = std::function<void(const std::string&)>;

// Ends the transfer in `dir` whose session id starts with `session`: stops its process (which
// discards its unfinished receive), removes its journal and the partial receive state ZFS keeps.
Status abort_transfer(const std::string& dir, const std::string& session, const SayFn& say);

// Asks the running transfer `session` (a unique prefix of a journal's session id here, or a
// whole session id) for the cap `rate` (bytes per second, 0: none); where a journal names it,
// waits (15 s at most) until the journal shows the cap in force.
Status change_rate(const std::string& dir, const std::string& session, std::uint64_t rate, const SayFn& say);

}  // namespace pgm::session
