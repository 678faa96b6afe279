// fuzz_zfs: the parsers of what the local or remote `zfs` prints (src/zfs/zfs.h): usage text
// (capabilities), `list -t snapshot`, `get -Hp -o value`, `send -nvt TOKEN` and `send -nP`.
//
// Input: first byte % 6 picks the parser; the rest is the output. For the two that take a
// second string (receive usage, the dataset listed) it is split at the first NUL: A\0B.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "zfs/zfs.h"

namespace {

std::pair<std::string, std::string> split_nul(std::string_view s) {
  const std::size_t nul = s.find('\0');
  if (nul == std::string_view::npos) return {std::string(s), std::string()};
  return {std::string(s.substr(0, nul)), std::string(s.substr(nul + 1))};
}

bool has_dash_letter(const std::string& s) {
  for (std::size_t i = 0; i + 1 < s.size(); ++i)
    if (s[i] == '-' && ((s[i + 1] >= 'a' && s[i + 1] <= 'z') || (s[i + 1] >= 'A' && s[i + 1] <= 'Z'))) return true;
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string text(rest);
  namespace zfs = pgm::zfs;
  switch (data[0] % 6) {
    case 0: {  // send usage \0 receive usage
      auto [send, recv] = split_nul(rest);
      const zfs::Capabilities c = zfs::parse_capabilities(send, recv);
      // A flag is only ever read from a "-x" group on a line that names the verb.
      const bool send_any = c.send_dry_run_parsable || c.send_resume_token || c.send_raw || c.send_compressed || c.send_large_blocks ||
                            c.send_props || c.send_replicate;
      if (send_any && (send.find("send") == std::string::npos || !has_dash_letter(send))) __builtin_trap();
      if ((c.recv_resumable || c.recv_no_mount) && (recv.find("rec") == std::string::npos || !has_dash_letter(recv))) __builtin_trap();
      if (c.recv_resumable != (zfs::usage_has_flag(recv, "receive", 's') || zfs::usage_has_flag(recv, "recv", 's'))) __builtin_trap();
      (void)c.describe();
      break;
    }
    case 1: {  // dataset \0 `zfs list -H -o name -t snapshot -r` output
      auto [dataset, out] = split_nul(rest);
      const std::string prefix = dataset + "@";
      std::size_t total = 0;
      for (const std::string& name : zfs::parse_snapshot_list(out, dataset)) {
        if (name.rfind(prefix, 0) != 0 || name.find('\n') != std::string::npos) __builtin_trap();
        if (out.find(name) == std::string::npos) __builtin_trap();
        total += name.size() + 1;
      }
      if (total > out.size() + 1) __builtin_trap();
      break;
    }
    case 2: {  // `zfs get -Hp -o value` output, then as a number
      const std::string v = zfs::parse_get_value(text);
      if (text.rfind(v, 0) != 0) __builtin_trap();
      if (!v.empty() && (v.back() == '\n' || v.back() == '\r')) __builtin_trap();
      if (auto n = zfs::parse_u64_value(v, "guid", "tank/fs")) {
        // Plain decimal digits that fit are read back exactly.
        const bool digits = !v.empty() && v.size() <= 19 && v.find_first_not_of("0123456789") == std::string::npos;
        if (digits) {
          const std::string back = std::to_string(*n);
          const std::size_t nz = v.find_first_not_of('0');
          if (back != (nz == std::string::npos ? std::string("0") : v.substr(nz))) __builtin_trap();
        }
      } else if (n.status().code() != pgm::Errc::protocol) {
        __builtin_trap();
      }
      break;
    }
    case 3: {  // `zfs get -H -o value receive_resume_token` output
      const std::string t = zfs::parse_resume_token(text);
      if (text.rfind(t, 0) != 0 || t == "-") __builtin_trap();
      if (!t.empty() && (t.back() == '\n' || t.back() == ' ')) __builtin_trap();
      break;
    }
    case 4: {  // `zfs send -nvt TOKEN` stdout "\n" stderr
      if (auto info = zfs::parse_token_description(text)) {
        if (info->toname.empty() || info->toname.find('\n') != std::string::npos) __builtin_trap();
        if (text.find("toname = " + info->toname) == std::string::npos) __builtin_trap();
      } else if (info.status().code() != pgm::Errc::protocol) {
        __builtin_trap();
      }
      break;
    }
    default: {  // `zfs send -nP` output
      const auto n = zfs::parse_send_size(text);
      if (n.has_value() != (text.find("size") != std::string::npos)) __builtin_trap();
      break;
    }
  }
  return 0;
}
