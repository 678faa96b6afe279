#include "zfs/flag_settings.h"

#include <utility>

namespace pgm::zfs {

std::vector<std::string> flag_words(const FlagSettings& s) {
  std::vector<std::string> w;
  for (const auto& [on, word] :
       {std::pair{s.raw, "--raw"}, std::pair{s.compressed, "--compressed"}, std::pair{s.large_blocks, "--large-block"},
        std::pair{s.embedded, "--embed"}, std::pair{s.no_mount, "--no-mount"}})
    if (on) w.emplace_back(word);
  for (const auto& kv : s.set_props) w.push_back("--recv-set=" + kv);
  for (const auto& p : s.exclude_props) w.push_back("--recv-exclude=" + p);
  return w;
}

Status apply_flags(const FlagSettings& s, bool send_cmd, bool recv_cmd, SendFlags& send, RecvFlags& recv) {
  if (s.any_stream_flag() && send_cmd) return Status(Errc::invalid_argument, "-w/-c/-L/-e are flags of zfs send: --send-cmd replaces it");
  if (s.any_recv_flag() && recv_cmd)
    return Status(Errc::invalid_argument, "-u/--recv-set/--recv-exclude are flags of zfs receive: --recv-cmd replaces it");
  send.raw = s.raw;
  send.compressed = s.compressed;
  send.large_blocks = s.large_blocks;
  send.embedded = s.embedded;
  recv.no_mount = s.no_mount;
  for (const auto& kv : s.set_props) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == kv.size())
      return Status(Errc::invalid_argument, "--recv-set takes PROP=VALUE (e.g. mountpoint=/srv/pg), not '" + kv + "'");
    PGM_RETURN_IF_ERROR(validate_property_name(kv.substr(0, eq)));
    recv.set_props.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  for (const auto& name : s.exclude_props) {
    PGM_RETURN_IF_ERROR(validate_property_name(name));
    recv.exclude_props.push_back(name);
  }
  return Status::Ok();
}

}  // namespace pgm::zfs
