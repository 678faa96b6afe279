// Host key trust the way OpenSSH does it: known_hosts lookups (plain and hashed "|1|" names,
// "[host]:port" for ports other than 22), SHA256 fingerprints, trust-on-first-use appends.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

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

enum class HostKeyCheck { match, mismatch, not_found, revoked };
// Looks the server's key up in `files` with libssh2's matcher. Lines it cannot parse (a
// truncated line) are skipped instead of ending the file, "@cert-authority" lines are ignored
// (no certificates here) and "@revoked" keys are refused. Errc::io only if a file exists but cannot be read.
Result<HostKeyCheck> check_known_host(LIBSSH2_SESSION* session, const std::vector<std::string>& files, std::string_view name,
                                      std::span<const std::uint8_t> key_blob);

// Appends "name type base64" to `file`, creating it with mode 0600 (and its directory, 0700).
Status append_known_host(const std::string& file, std::string_view name, std::span<const std::uint8_t> key_blob);

}  // namespace pgm::transport
