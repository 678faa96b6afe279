#include "transport/ssh/known_hosts.h"

#include <fcntl.h>
#include <libssh2.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "common/errno_text.h"
#include "common/fd.h"

namespace pgm::transport {
namespace {

std::string base64(std::span<const std::uint8_t> data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data.data(), static_cast<int>(data.size()));
  out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
  return out;
}

// EVP_DecodeBlock counts padding as zero bytes; strip them so salts and hashes compare right.
bool unbase64(std::string_view text, std::string& out) {
  if (text.empty() || text.size() % 4 != 0) return false;
  out.assign(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return false;
  std::size_t pad = 0;
  if (text.back() == '=') ++pad;
  if (text.size() > 1 && text[text.size() - 2] == '=') ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  return true;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    std::size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) return out;
    start = pos + 1;
  }
}

// The whitespace-separated fields of a known_hosts line, or none for blanks and comments.
std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (i >= line.size() || (out.empty() && line[i] == '#')) break;
    std::size_t start = i;
    while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    out.push_back(line.substr(start, i - start));
  }
  return out;
}

// Whether one host pattern of a known_hosts line names `name`. Plain names compare without case;
// "|1|salt|hash" entries are HMAC-SHA1(salt, name). Wildcards and negations are not supported
// (libssh2 does not match them either), so such entries never match.
bool pattern_matches(std::string_view pattern, std::string_view name) {
  if (pattern.starts_with("|1|")) {
    auto parts = split(pattern.substr(3), '|');
    std::string salt, hash;
    if (parts.size() != 2 || !unbase64(parts[0], salt) || !unbase64(parts[1], hash)) return false;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (!HMAC(EVP_sha1(), salt.data(), static_cast<int>(salt.size()), reinterpret_cast<const unsigned char*>(name.data()), name.size(), mac,
              &mac_len))
      return false;
    return mac_len == hash.size() && std::memcmp(mac, hash.data(), mac_len) == 0;
  }
  if (pattern.size() != name.size()) return false;
  for (std::size_t i = 0; i < name.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(pattern[i])) != std::tolower(static_cast<unsigned char>(name[i]))) return false;
  return true;
}

bool hosts_match(std::string_view hosts, std::string_view name) {
  for (auto pattern : split(hosts, ','))
    if (pattern_matches(pattern, name)) return true;
  return false;
}

int knownhost_key_type(std::string_view type) {
  if (type == "ssh-ed25519") return LIBSSH2_KNOWNHOST_KEY_ED25519;
  if (type == "ecdsa-sha2-nistp256") return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
  if (type == "ecdsa-sha2-nistp384") return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
  if (type == "ecdsa-sha2-nistp521") return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
  if (type == "ssh-rsa") return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
  if (type == "ssh-dss") return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
  return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
}

KnownHostCheck with_result(HostKeyCheck result) {
  KnownHostCheck c;
  c.result = result;
  return c;
}

KnownHostCheck at_line(const std::string& file, int line, std::string_view type) {
  KnownHostCheck c;
  c.file = file;
  c.line = line;
  c.known_type = std::string(type);
  return c;
}

struct KnownHostsDeleter {
  void operator()(LIBSSH2_KNOWNHOSTS* kh) const { libssh2_knownhost_free(kh); }
};

}  // namespace

std::string known_hosts_name(std::string_view host, int port) {
  std::string lower(host);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (port == 22) return lower;
  return "[" + lower + "]:" + std::to_string(port);
}

std::string sha256_fingerprint(std::span<const std::uint8_t> key_blob) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!EVP_Digest(key_blob.data(), key_blob.size(), digest, &len, EVP_sha256(), nullptr)) return "SHA256:?";
  std::string b64 = base64({digest, len});
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  return "SHA256:" + b64;
}

std::string key_blob_type(std::span<const std::uint8_t> key_blob) {
  if (key_blob.size() < 4) return {};
  std::uint32_t len = (std::uint32_t{key_blob[0]} << 24) | (std::uint32_t{key_blob[1]} << 16) | (std::uint32_t{key_blob[2]} << 8) |
                      std::uint32_t{key_blob[3]};
  if (len == 0 || len > 64 || len > key_blob.size() - 4) return {};
  return std::string(reinterpret_cast<const char*>(key_blob.data()) + 4, len);
}

std::vector<std::string> known_key_types(const std::vector<std::string>& files, std::string_view name) {
  std::vector<std::string> types;
  for (const auto& file : files) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      auto f = fields(line);
      if (f.size() < 3 || f[0].starts_with("@")) continue;
      if (!hosts_match(f[0], name)) continue;
      std::string type(f[1]);
      if (std::find(types.begin(), types.end(), type) == types.end()) types.push_back(type);
    }
  }
  return types;
}

Result<KnownHostCheck> check_known_host(LIBSSH2_SESSION* session, const std::vector<std::string>& files, std::string_view name,
                                        std::span<const std::uint8_t> key_blob) {
  const std::string key_b64 = base64(key_blob);
  const std::string type = key_blob_type(key_blob);

  std::unique_ptr<LIBSSH2_KNOWNHOSTS, KnownHostsDeleter> kh(libssh2_knownhost_init(session));
  if (!kh) return Status(Errc::internal, "libssh2_knownhost_init failed");

  KnownHostCheck same_type, any_type;  // where the host is first known, for the error message
  for (const auto& file : files) {
    std::ifstream in(file);
    if (!in) {
      if (errno == ENOENT) continue;
      return Status(Errc::io, "cannot read " + file + ": " + errno_text(errno));
    }
    std::string line;
    int lineno = 0;
    while (std::getline(in, line)) {
      ++lineno;
      auto f = fields(line);
      if (f.size() < 3) continue;
      if (f[0] == "@revoked") {
        // A revoked key stays refused whatever host it is presented for, as in OpenSSH.
        if (f.size() >= 4 && f[2] == type && f[3] == key_b64) return with_result(HostKeyCheck::revoked);
        continue;
      }
      if (f[0].starts_with("@")) continue;  // @cert-authority: we do not do certificates
      if (hosts_match(f[0], name)) {
        if (any_type.line == 0) any_type = at_line(file, lineno, f[1]);
        if (same_type.line == 0 && f[1] == type) same_type = at_line(file, lineno, f[1]);
      }
      // libssh2_knownhost_readfile() stops at the first line it cannot parse; feeding lines one
      // by one keeps the rest of a file with one damaged line, as OpenSSH does.
      (void)libssh2_knownhost_readline(kh.get(), line.data(), line.size(), LIBSSH2_KNOWNHOST_FILE_OPENSSH);
    }
  }

  // The name is passed whole with port -1: given a port, libssh2 also tries the bare host, which
  // OpenSSH does not do for ports other than 22 and which could turn a mismatch into a match.
  const int typemask = LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | knownhost_key_type(type);
  const std::string host(name);
  int rc = libssh2_knownhost_checkp(kh.get(), host.c_str(), -1, reinterpret_cast<const char*>(key_blob.data()), key_blob.size(), typemask,
                                    nullptr);
  switch (rc) {
    case LIBSSH2_KNOWNHOST_CHECK_MATCH: return with_result(HostKeyCheck::match);
    case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
      same_type.result = HostKeyCheck::mismatch;
      if (same_type.line == 0) same_type.known_type = type;  // libssh2 matched a name we could not: no line to point at
      return same_type;
    case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
      // libssh2 compares keys of the presented type only; a host known by another type is not
      // new, whatever libssh2 says.
      if (any_type.line != 0) {
        any_type.result = HostKeyCheck::other_type;
        return any_type;
      }
      return with_result(HostKeyCheck::not_found);
    default: return Status(Errc::internal, "known_hosts check failed for " + host);
  }
}

namespace {

// Opens (creating) `file` for appending and takes an exclusive flock on it. flock locks belong
// to the open file description, so this serializes threads of one process as well as processes.
Result<UniqueFd> open_locked(const std::string& file) {
  auto slash = file.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    std::string dir = file.substr(0, slash);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return Status(Errc::io, "cannot create " + dir + ": " + errno_text(errno));
  }
  UniqueFd fd(::open(file.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) return Status(Errc::io, "cannot open " + file + ": " + errno_text(errno));
  while (::flock(fd.get(), LOCK_EX) != 0)
    if (errno != EINTR) return Status(Errc::io, "cannot lock " + file + ": " + errno_text(errno));
  return fd;
}

Status append_line(int fd, const std::string& file, std::string_view name, std::span<const std::uint8_t> key_blob) {
  std::string line;
  // Do not glue our entry onto a last line that lacks its newline.
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size > 0) {
    char last = '\n';
    if (::pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n') line.push_back('\n');
  }
  line += std::string(name) + " " + key_blob_type(key_blob) + " " + base64(key_blob) + "\n";
  if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
    return Status(Errc::io, "cannot write " + file + ": " + errno_text(errno));
  return Status::Ok();
}

}  // namespace

Result<KnownHostCheck> check_and_record_known_host(LIBSSH2_SESSION* session, const std::vector<std::string>& files, std::string_view name,
                                                   std::span<const std::uint8_t> key_blob) {
  if (files.empty()) return Status(Errc::invalid_argument, "no known_hosts file to record a host key in");
  auto fd = open_locked(files.front());
  if (!fd) return fd.status();
  // Read again under the lock: another connection may have recorded the host since we looked.
  auto check = check_known_host(session, files, name, key_blob);
  if (!check || check->result != HostKeyCheck::not_found) return check;
  PGM_RETURN_IF_ERROR(append_line(fd->get(), files.front(), name, key_blob));
  check->added = true;
  return check;  // the lock goes with the descriptor
}

Status append_known_host(const std::string& file, std::string_view name, std::span<const std::uint8_t> key_blob) {
  auto fd = open_locked(file);
  if (!fd) return fd.status();
  return append_line(fd->get(), file, name, key_blob);
}

}  // namespace pgm::transport
