// fuzz_names: everything that turns user- or remote-supplied text into a host, a user or a
// ZFS name that later becomes one argv word locally or on a remote command line.
//
// Input: up to three NUL-separated fields A, B, C (missing fields are empty). A is parsed as
// an endpoint, a dataset and a snapshot; (B, A) as incremental base and snapshot; C's first
// byte picks the send/recv flags and capabilities.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "session/settings.h"
#include "zfs/zfs.h"

namespace {

// Which separator may appear once in a word: none (a dataset), '@' (a snapshot) or either
// '@' or '#' (an incremental base, which may be a bookmark since bookmark bases landed).
enum class Sep { none, at, at_or_hash };

bool zfs_name_chars(std::string_view s, Sep sep) {
  int separators = 0;
  for (char c : s) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
                       c == ':' || c == '/';
    const bool separator = (sep != Sep::none && c == '@') || (sep == Sep::at_or_hash && c == '#');
    if (!plain && !separator) return false;
    separators += separator ? 1 : 0;
  }
  return separators <= 1;
}

// The promise in zfs.h: a validated name is one harmless word.
void check_word(std::string_view s, Sep sep) {
  if (s.empty() || s.size() > 255 || s.front() == '-' || s.front() == '/' || !zfs_name_chars(s, sep)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  std::string_view field[3];
  std::string_view rest = all;
  for (int i = 0; i < 3; ++i) {
    const std::size_t nul = rest.find('\0');
    field[i] = rest.substr(0, nul);
    if (nul == std::string_view::npos) break;
    rest.remove_prefix(nul + 1);
  }
  const std::string a(field[0]);

  if (auto ep = pgm::session::parse_endpoint(a)) {
    if (!ep->stdio && (ep->host.empty() || ep->name.empty())) __builtin_trap();
    if (ep->stdio && a != "-") __builtin_trap();
  }

  if (pgm::zfs::validate_dataset(a).ok()) check_word(a, Sep::none);
  if (auto snap = pgm::zfs::split_snapshot(a)) {
    check_word(snap->dataset, Sep::none);
    if (snap->full() != a) __builtin_trap();
  }
  if (auto base = pgm::zfs::resolve_incremental_base(field[1], a)) check_word(*base, Sep::at_or_hash);

  const std::uint8_t bits = field[2].empty() ? 0 : static_cast<std::uint8_t>(field[2][0]);
  pgm::zfs::Capabilities caps;
  caps.send_replicate = bits & 1;
  caps.send_props = bits & 2;
  caps.recv_resumable = bits & 4;
  caps.recv_no_mount = bits & 8;
  pgm::zfs::SendFlags sf;
  sf.replicate = bits & 16;
  sf.props = bits & 32;
  if (bits & 64) sf.incremental = std::string(field[1]);
  if (bits & 128) sf.intermediate = std::string(field[1]);
  if (auto args = pgm::zfs::send_args(a, sf, caps)) {
    if (args->empty() || args->back() != a) __builtin_trap();
  }
  pgm::zfs::RecvFlags rf{.force = (bits & 16) != 0, .resumable = (bits & 32) != 0, .no_mount = (bits & 64) != 0};
  if (auto args = pgm::zfs::recv_args(a, rf, caps)) {
    if (args->empty() || args->back() != a) __builtin_trap();
    check_word(args->back(), Sep::none);
  }
  return 0;
}
