// fuzz_known_hosts: a user's known_hosts file (src/transport/ssh/known_hosts.h), which may
// hold anything: hashed "|1|salt|hash" names, "[host]:port", markers, comments, damaged lines.
// It goes through known_key_types (our own line parser) and check_known_host (ours, plus
// libssh2's line reader and matcher, on an unconnected session) for a fixed ed25519 key.
//
// Input: the first line is the host name to look up; the rest is the file. The first line's
// bytes are also fed to key_blob_type and sha256_fingerprint as a key blob.
//
// Invariants: known_key_types returns no duplicates and no empty type; known_hosts_name is
// the lowercased host for port 22 and "[host]:port" otherwise.
#include <libssh2.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_temp_file.h"
#include "transport/ssh/known_hosts.h"

namespace {

// The public key of `ssh-keygen -t ed25519` (seeds in corpus/fuzz_known_hosts/ hold its line:
// ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICgT862qgSXjQpMpj6iFELva4JwD/LPBuTWdhRRGKZ0h).
constexpr std::array<std::uint8_t, 51> kKey = {0x00, 0x00, 0x00, 0x0b, 0x73, 0x73, 0x68, 0x2d, 0x65, 0x64, 0x32, 0x35, 0x35,
                                               0x31, 0x39, 0x00, 0x00, 0x00, 0x20, 0x28, 0x13, 0xf3, 0xad, 0xaa, 0x81, 0x25,
                                               0xe3, 0x42, 0x93, 0x29, 0x8f, 0xa8, 0x85, 0x10, 0xbb, 0xda, 0xe0, 0x9c, 0x03,
                                               0xfc, 0xb3, 0xc1, 0xb9, 0x35, 0x9d, 0x85, 0x14, 0x46, 0x29, 0x9d, 0x21};

LIBSSH2_SESSION* session() {
  static LIBSSH2_SESSION* s = [] {
    if (libssh2_init(0) != 0) __builtin_trap();
    LIBSSH2_SESSION* made = libssh2_session_init();
    if (made == nullptr) __builtin_trap();
    return made;
  }();
  return s;
}

}  // namespace

// libssh2 1.10 (Debian 12) leaks the HMAC_CTX of each hashed ("|1|") known_hosts entry it
// compares in libssh2_knownhost_checkp (HMAC_CTX_new without a free: fixed upstream in 1.11).
// Not pgmigrate memory, and bounded by the file's hashed lines per connection. libcrypto and
// libssh2 have no frame pointers, so the fast unwinder sees only CRYPTO_zalloc: match both
// modules, here only (nothing else in this target allocates through OpenSSL).
extern "C" const char* __lsan_default_suppressions() { return "leak:libssh2.so\nleak:libcrypto.so\n"; }

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const std::size_t nl = all.find('\n');
  const std::string_view name = all.substr(0, nl);
  const std::string_view file = nl == std::string_view::npos ? std::string_view() : all.substr(nl + 1);

  const std::span<const std::uint8_t> blob(data, name.size());
  const std::string type = pgm::transport::key_blob_type(blob);
  if (!type.empty() && (type.size() > 64 || type.size() + 4 > blob.size())) __builtin_trap();
  if (!pgm::transport::sha256_fingerprint(blob).starts_with("SHA256:")) __builtin_trap();
  if (pgm::transport::key_blob_type(kKey) != "ssh-ed25519") __builtin_trap();

  const std::string n22 = pgm::transport::known_hosts_name(name, 22);
  const std::string n2222 = pgm::transport::known_hosts_name(name, 2222);
  if (n22.size() != name.size() || n2222 != "[" + n22 + "]:2222") __builtin_trap();

  const std::vector<std::string> files{pgm::fuzz::temp_dir().write("known_hosts", file.data(), file.size()),
                                       pgm::fuzz::temp_dir().path() + "/missing_known_hosts"};
  for (const std::string& lookup : {std::string(name), n22, n2222}) {
    const auto types = pgm::transport::known_key_types(files, lookup);
    for (std::size_t i = 0; i < types.size(); ++i) {
      if (types[i].empty()) __builtin_trap();
      if (std::find(types.begin() + static_cast<std::ptrdiff_t>(i) + 1, types.end(), types[i]) != types.end()) __builtin_trap();
    }
  }
  // libssh2 takes the name as a C string: a NUL inside would make it look up something else.
  if (name.find('\0') == std::string_view::npos) {
    auto checked = pgm::transport::check_known_host(session(), files, n22, kKey);
    (void)checked;
  }
  return 0;
}
