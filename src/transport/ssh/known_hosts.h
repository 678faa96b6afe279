// Host key trust the way OpenSSH does it: known_hosts lookups (plain and hashed "|1|" names,
// "[host]:port" for ports other than 22), SHA256 fingerprints, trust-on-first-use appends.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pgmigrate/status.h"

typedef struct _LIBSSH2_SESSION LIBSSH2_SESSION;  // NOLINT: same typedef as <libssh2.h>

namespace pgm::transport {

// The name OpenSSH files a host's keys under: the lowercased host for port 22, else
// "[host]:port".
std::string known_hosts_name(std::string_view host, int port);

// "SHA256:<base64 without padding>", as `ssh-keygen -l` and ssh print it.
std::string sha256_fingerprint(std::span<const std::uint8_t> key_blob);

// The algorithm named inside an SSH public key blob ("ssh-ed25519"), or empty if malformed.
std::string key_blob_type(std::span<const std::uint8_t> key_blob);

// The key types recorded for `name` in `files`, in file order, without duplicates. Used to ask
// the server for a key the user already trusts, as OpenSSH does. Missing files and lines that do
// not parse are skipped.
std::vector<std::string> known_key_types(const std::vector<std::string>& files, std::string_view name);

// other_type: the host is known, but only by keys of other types than the one it presents. A
// host that once showed an ed25519 key and now offers only ssh-rsa is treated like a changed
// key: trusting it would let a man in the middle who cannot forge the known key pick a type
// the client has never seen.
enum class HostKeyCheck { match, mismatch, other_type, not_found, revoked };
struct KnownHostCheck {
  HostKeyCheck result = HostKeyCheck::not_found;
  // For mismatch and other_type: the first line that knows the host (by the presented type for
  // mismatch, by any type for other_type), 1-based, and the type it records.
  std::string file;
  int line = 0;
  std::string known_type;
  // Set by check_and_record_known_host when it appended the key.
  bool added = false;
};
// Looks the server's key up in `files` with libssh2's matcher. Lines it cannot parse (a
// truncated line) are skipped instead of ending the file, "@cert-authority" lines are ignored
// (no certificates here) and "@revoked" keys are refused. Errc::io only if a file exists but cannot be read.
Result<KnownHostCheck> check_known_host(LIBSSH2_SESSION* session, const std::vector<std::string>& files, std::string_view name,
                                        std::span<const std::uint8_t> key_blob);

// Trust on first use, once: takes an exclusive flock on `files.front()` (creating it 0600, and
// its directory 0700), checks again under the lock and appends the key only if the host is
// still unknown. Parallel connections to a new host (the control connection and every data
// lane, in this process or another) thus record one key, and the others verify against it
// instead of each trusting what it was shown.
Result<KnownHostCheck> check_and_record_known_host(LIBSSH2_SESSION* session, const std::vector<std::string>& files, std::string_view name,
                                                   std::span<const std::uint8_t> key_blob);

// Appends "name type base64" to `file` under the same lock, creating it with mode 0600 (and its
// directory, 0700), whether or not the host is known.
Status append_known_host(const std::string& file, std::string_view name, std::span<const std::uint8_t> key_blob);

}  // namespace pgm::transport
