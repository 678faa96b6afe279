// The OpenZFS pass-through flags of `send` and `recv`: the stream's (zfs send -w -c -L -e) and
// the receive's (zfs receive -u -o -x). Each goes to whichever host runs that zfs: on `send`
// the receive flags reach the far `zfs receive`, on `recv` the stream flags the far `zfs
// send`. A zfs whose usage lacks one (zfs-fuse lacks them all) refuses it in one line
// (zfs::send_args, zfs::recv_args).
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "pgmigrate/status.h"
#include "zfs/zfs.h"

namespace pgm::cli {

struct ZfsOptions {
  bool raw = false, compressed = false, large_blocks = false, embedded = false;
  bool no_mount = false;
  std::vector<std::string> set_props;  // PROP=VALUE
  std::vector<std::string> exclude_props;
};

// `far_stream`: the stream flags describe the far send (recv), else the receive flags
// describe the far receive (send); only the help text differs.
void add_zfs_options(CLI::App& cmd, ZfsOptions& o, bool far_stream);

// The flags as words ("--raw", "--recv-set=PROP=VALUE", ...) in a fixed order: what a
// migration's state records, and what a later run's flags are compared with.
std::vector<std::string> zfs_option_words(const ZfsOptions& o);

// Into the flags of the send and of the receive. `send_cmd`/`recv_cmd`: a command replaces
// zfs on that side, which then takes none of its flags (Errc::invalid_argument).
Status apply_zfs_options(const ZfsOptions& o, bool send_cmd, bool recv_cmd, zfs::SendFlags& send, zfs::RecvFlags& recv);

}  // namespace pgm::cli
