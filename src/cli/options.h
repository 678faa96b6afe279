// The option groups that several commands share, registered straight into the library's
// settings: a transfer's (session/settings.h), the far host's and its SSH trust (same), the
// OpenZFS pass-through flags (zfs/flag_settings.h), and the switchover's hooks. What the
// settings mean, and every refusal of a bad value, is the library's.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "session/settings.h"
#include "zfs/flag_settings.h"

namespace pgm::cli {

void add_transfer_options(CLI::App& cmd, session::TransferSettings& o);
void add_remote_options(CLI::App& cmd, session::RemoteSettings& o);
// `far_stream`: the stream flags describe the far send (recv), else the receive flags
// describe the far receive (send); only the help text differs.
void add_zfs_options(CLI::App& cmd, zfs::FlagSettings& o, bool far_stream);
// What is sent and how it is received (-i -I -R -p --send-cmd -F --recv-cmd and the zfs
// flags above): `send` describes its far receive, `recv` its far send.
void add_stream_options(CLI::App& cmd, session::StreamSettings& s, bool far_stream);

// --pre-fence-hook and --post-hook, with the one list of their environment variables in the
// command's --help footer: shared by `pg switchover` and `migrate run`, so the two never
// document different hooks.
void add_hook_options(CLI::App& cmd, std::string& pre_fence_hook, std::string& post_hook);

}  // namespace pgm::cli
