#include "session/far_command.h"

#include "common/elevation.h"

namespace pgm::session {

std::vector<std::string> recv_flag_words(const zfs::RecvFlags& f) {
  std::vector<std::string> words;
  if (f.no_mount) words.emplace_back("--no-mount");
  for (const auto& [name, value] : f.set_props) words.push_back(std::string("--recv-set=").append(name).append("=").append(value));
  for (const auto& name : f.exclude_props) words.push_back("--recv-exclude=" + name);
  return words;
}

std::optional<Status> explain_refused_elevation(const Remote& remote, const std::string& err) {
  // The far pgmigrate's own last word starts a line ("sudo: pgmigrate: command not found" is sudo's).
  if (remote.elevation.empty() || err.empty() || err.starts_with("pgmigrate: ") || err.find("\npgmigrate: ") != std::string::npos)
    return std::nullopt;
  const std::string wrapper = remote.elevation.substr(0, remote.elevation.find(' '));
  std::string line = err.substr(err.rfind('\n') == std::string::npos ? 0 : err.rfind('\n') + 1);
  if (line.find("command not found") != std::string::npos || line.find("No such file") != std::string::npos)
    return Status(Errc::not_found, "'" + remote.remote_bin + "' was not found by " + wrapper + " on " + remote.host_label +
                                       " (install pgmigrate in its secure_path, or pass --remote-bin with an absolute path): " + line);
  return elevation_refused(remote.host_label, remote.elevation, remote.remote_bin, remote.login_user, line);
}

Status explain_far_exit(transport::Channel& ch, const Remote& remote, Status fallback) {
  auto code = ch.wait_exit();
  std::string err = ch.stderr_text();
  while (!err.empty() && err.back() == '\n') err.pop_back();
  if (code && *code == 127)
    return Status(Errc::not_found, "'" + remote.remote_bin + "' was not found on " + remote.host_label +
                                       " (install pgmigrate there, or pass --remote-bin PATH)" + (err.empty() ? "" : ": " + err));
  if (err.empty()) return fallback;
  if (code && *code != 0)
    if (auto refused = explain_refused_elevation(remote, err)) return *refused;
  std::size_t pos = err.rfind("pgmigrate: ");
  return Status(fallback.code(), "on " + remote.host_label + ": " + (pos == std::string::npos ? err : err.substr(pos + 11)));
}

}  // namespace pgm::session
