#include "common/elevation.h"

#include <pwd.h>
#include <unistd.h>

#include <array>

namespace pgm {

std::string privilege_wrapper(bool runs_as_root, bool no_sudo, const std::string& sudo_cmd) {
  return runs_as_root || no_sudo ? std::string() : sudo_cmd;
}

std::vector<std::string> elevated_argv(const std::string& wrapper, std::vector<std::string> argv) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while ((pos = wrapper.find_first_not_of(" \t", pos)) != std::string::npos) {
    const std::size_t end = wrapper.find_first_of(" \t", pos);
    out.push_back(wrapper.substr(pos, end == std::string::npos ? std::string::npos : end - pos));
    pos = end;
  }
  out.insert(out.end(), std::make_move_iterator(argv.begin()), std::make_move_iterator(argv.end()));
  return out;
}

bool is_wrapper_refusal(const std::string& wrapper, const std::string& err) {
  const auto words = elevated_argv(wrapper, {});
  if (words.empty() || err.empty()) return false;
  std::string program = words.front().substr(words.front().rfind('/') == std::string::npos ? 0 : words.front().rfind('/') + 1);
  std::string last = err.substr(err.rfind('\n') == std::string::npos ? 0 : err.rfind('\n') + 1);
  return last.starts_with(program + ": ");
}

std::string wrapper_said(const std::string& err) {
  std::string e = err;
  while (!e.empty() && (e.back() == '\n' || e.back() == '\r' || e.back() == ' ')) e.pop_back();
  return e.substr(e.rfind('\n') == std::string::npos ? 0 : e.rfind('\n') + 1);
}

Status elevation_refused(const std::string& where, const std::string& wrapper, const std::string& what, const std::string& user,
                         const std::string& said) {
  return Status(Errc::auth, "on " + where + ", '" + wrapper + "' refused to run " + what + " for " + user + " (" + said + "): allow " +
                                user + " to run it without a password (a sudoers line: docs/usage.md), or delegate ZFS with " +
                                "`zfs allow` and pass --no-sudo");
}

std::string effective_user_name() {
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (::getpwuid_r(::geteuid(), &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr && pw.pw_name) return pw.pw_name;
  return "uid " + std::to_string(::geteuid());
}

std::string this_host_name() {
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0 || host[0] == '\0') return "this host";
  return host.data();
}

}  // namespace pgm
