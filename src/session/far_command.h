// What a near process needs of the far pgmigrate commands it runs over SSH: the receive flags
// in pgmigrate's own words, and a far command's end told in operator terms. Shared by the near
// halves of transfers (session/) and by migrate/'s own far commands (`recv --follow`, probes).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pgmigrate/session.h"
#include "pgmigrate/status.h"
#include "transport/channel.h"
#include "zfs/zfs.h"

namespace pgm::session {

// The receive flags as pgmigrate's own words (--no-mount, --recv-set=P=V, --recv-exclude=P),
// unquoted, for every far command that receives: `_serve recv` and migrate's `recv --follow`.
std::vector<std::string> recv_flag_words(const zfs::RecvFlags& f);

// A far command that the privilege wrapper (`sudo -n`, --sudo-cmd) refused to start: the wrapper
// spoke on stderr and pgmigrate never ran. Says who was refused where, and the two ways out.
std::optional<Status> explain_refused_elevation(const Remote& remote, const std::string& err);

// A far command ended (or died before it could speak): say why in operator terms, from its
// exit code and the "pgmigrate: <message>" line the far pgmigrate prints last. `fallback` is
// the local symptom, used when the far side said nothing.
Status explain_far_exit(transport::Channel& ch, const Remote& remote, Status fallback);

}  // namespace pgm::session
