#include "cli/zfs_options.h"

namespace pgm::cli {

void add_zfs_options(CLI::App& cmd, ZfsOptions& o, bool far_stream) {
  const std::string send_side = far_stream ? "Far side: " : "";
  const std::string recv_side = far_stream ? "" : "Far side: ";
  cmd.add_flag("-w,--raw", o.raw, send_side + "raw stream (zfs send -w): encrypted datasets move encrypted, keys never leave (OpenZFS)");
  cmd.add_flag("-c,--compressed", o.compressed, send_side + "keep compressed blocks compressed (zfs send -c, OpenZFS)");
  cmd.add_flag("-L,--large-block", o.large_blocks, send_side + "keep blocks over 128 KiB large (zfs send -L, OpenZFS)");
  cmd.add_flag("-e,--embed", o.embedded, send_side + "keep embedded data blocks embedded (zfs send -e, OpenZFS)");
  cmd.add_flag("-u,--no-mount", o.no_mount, recv_side + "do not mount what is received (zfs receive -u)");
  cmd.add_option("--recv-set", o.set_props,
                 recv_side + "PROP=VALUE set on the received dataset (zfs receive -o; repeatable), e.g. mountpoint=/srv/pg")
      ->allow_extra_args(false);  // one value per occurrence: the positionals that follow stay positionals
  cmd.add_option("--recv-exclude", o.exclude_props, recv_side + "PROP not taken from the stream (zfs receive -x; repeatable)")
      ->allow_extra_args(false);
}

std::vector<std::string> zfs_option_words(const ZfsOptions& o) {
  std::vector<std::string> w;
  for (const auto& [on, word] :
       {std::pair{o.raw, "--raw"}, std::pair{o.compressed, "--compressed"}, std::pair{o.large_blocks, "--large-block"},
        std::pair{o.embedded, "--embed"}, std::pair{o.no_mount, "--no-mount"}})
    if (on) w.emplace_back(word);
  for (const auto& kv : o.set_props) w.push_back("--recv-set=" + kv);
  for (const auto& p : o.exclude_props) w.push_back("--recv-exclude=" + p);
  return w;
}

Status apply_zfs_options(const ZfsOptions& o, bool send_cmd, bool recv_cmd, zfs::SendFlags& send, zfs::RecvFlags& recv) {
  const bool stream_flags = o.raw || o.compressed || o.large_blocks || o.embedded;
  const bool recv_flags = o.no_mount || !o.set_props.empty() || !o.exclude_props.empty();
  if (stream_flags && send_cmd) return Status(Errc::invalid_argument, "-w/-c/-L/-e are flags of zfs send: --send-cmd replaces it");
  if (recv_flags && recv_cmd)
    return Status(Errc::invalid_argument, "-u/--recv-set/--recv-exclude are flags of zfs receive: --recv-cmd replaces it");
  send.raw = o.raw;
  send.compressed = o.compressed;
  send.large_blocks = o.large_blocks;
  send.embedded = o.embedded;
  recv.no_mount = o.no_mount;
  for (const auto& kv : o.set_props) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == kv.size())
      return Status(Errc::invalid_argument, "--recv-set takes PROP=VALUE (e.g. mountpoint=/srv/pg), not '" + kv + "'");
    PGM_RETURN_IF_ERROR(zfs::validate_property_name(kv.substr(0, eq)));
    recv.set_props.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  for (const auto& name : o.exclude_props) {
    PGM_RETURN_IF_ERROR(zfs::validate_property_name(name));
    recv.exclude_props.push_back(name);
  }
  return Status::Ok();
}

}  // namespace pgm::cli
