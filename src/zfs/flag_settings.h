// The OpenZFS pass-through settings of a transfer: the stream's (zfs send -w -c -L -e) and the
// receive's (zfs receive -u -o -x). Each goes to whichever host runs that zfs: on `send` the
// receive flags reach the far `zfs receive`, on `recv` the stream flags the far `zfs send`. A
// zfs whose usage lacks one (zfs-fuse lacks them all) refuses it in one line (send_args,
// recv_args in zfs.h). Every command with these settings spells them as the flags named here.
#pragma once

#include <string>
#include <vector>

#include "pgmigrate/status.h"
#include "zfs/zfs.h"

namespace pgm::zfs {

struct FlagSettings {
  bool raw = false, compressed = false, large_blocks = false, embedded = false;
  bool no_mount = false;
  std::vector<std::string> set_props;  // PROP=VALUE
  std::vector<std::string> exclude_props;

  bool any_stream_flag() const { return raw || compressed || large_blocks || embedded; }
  bool any_recv_flag() const { return no_mount || !set_props.empty() || !exclude_props.empty(); }
};

// The settings as words ("--raw", "--recv-set=PROP=VALUE", ...) in a fixed order: what a
// migration's state records, and what a later run's settings are compared with.
std::vector<std::string> flag_words(const FlagSettings& s);

// Into the flags of the send and of the receive. `send_cmd`/`recv_cmd`: a command replaces
// zfs on that side, which then takes none of its flags (Errc::invalid_argument).
Status apply_flags(const FlagSettings& s, bool send_cmd, bool recv_cmd, SendFlags& send, RecvFlags& recv);

}  // namespace pgm::zfs
