#include "transport/ssh_config.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "common/process.h"
#include "transport/tcp_connect.h"

namespace pgm::transport {
namespace {

std::vector<std::string> split_words(std::string_view s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    std::size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

std::optional<long> to_number(const std::string& s) {
  if (s.empty() || s.size() > 9 || !std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
    return std::nullopt;
  return std::stol(s);
}

// OpenSSH adds these when no IdentityFile was configured (readconf.c, fill_default_options).
bool is_default_identity(const std::string& path) {
  static const char* const kDefaults[] = {"~/.ssh/id_rsa",        "~/.ssh/id_ecdsa", "~/.ssh/id_ecdsa_sk", "~/.ssh/id_ed25519",
                                          "~/.ssh/id_ed25519_sk", "~/.ssh/id_xmss",  "~/.ssh/id_dsa"};
  return std::find(std::begin(kDefaults), std::end(kDefaults), path) != std::end(kDefaults);
}

}  // namespace

std::string home_directory() {
  // Read before any transfer thread starts; nothing sets the environment.
  if (const char* h = std::getenv("HOME"); h && *h) return h;  // NOLINT(concurrency-mt-unsafe)
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (::getpwuid_r(::geteuid(), &pw, buf.data(), buf.size(), &found) == 0 && found && pw.pw_dir) return pw.pw_dir;
  return "/";
}

std::string expand_tilde(const std::string& path, const std::string& home) {
  if (path == "~") return home;
  if (path.starts_with("~/")) return home + path.substr(1);
  return path;
}

Result<SshConfig> parse_ssh_g(std::string_view output, const std::string& home) {
  SshConfig c;
  bool have_hostname = false, have_port = false;
  std::size_t pos = 0;
  while (pos < output.size()) {
    std::size_t end = output.find('\n', pos);
    if (end == std::string_view::npos) end = output.size();
    std::string_view line = output.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::size_t sp = line.find(' ');
    if (sp == std::string_view::npos) continue;
    std::string key(line.substr(0, sp));
    std::transform(key.begin(), key.end(), key.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    const std::string value(line.substr(sp + 1));
    if (key == "hostname") {
      c.hostname = value;
      have_hostname = true;
    } else if (key == "user") {
      c.user = value;
    } else if (key == "port") {
      auto n = to_number(value);
      if (!n || *n < 1 || *n > 65535) return Status(Errc::invalid_argument, "ssh -G: invalid port '" + value + "'");
      c.port = static_cast<int>(*n);
      have_port = true;
    } else if (key == "identityfile") {
      c.identity_files.push_back(value);
    } else if (key == "identitiesonly") {
      c.identities_only = value == "yes" || value == "true";
    } else if (key == "userknownhostsfile") {
      c.user_known_hosts_files = split_words(value);
    } else if (key == "stricthostkeychecking") {
      c.strict_host_key_checking = value;
    } else if (key == "connecttimeout") {
      if (value != "none") {
        auto n = to_number(value);
        if (!n) return Status(Errc::invalid_argument, "ssh -G: invalid connecttimeout '" + value + "'");
        c.connect_timeout = std::chrono::seconds(*n);
      }
    } else if (key == "proxyjump") {
      if (value != "none") c.proxy_jump = value;
    } else if (key == "proxycommand") {
      if (value != "none") c.proxy_command = value;
    }
  }
  if (!have_hostname || c.hostname.empty() || !have_port)
    return Status(Errc::invalid_argument, "ssh -G printed no hostname or port (not OpenSSH's ssh?)");
  // Only OpenSSH's built-in defaults: the user named no key, so pgmigrate keeps its own
  // defaults (ssh-agent, then those of ~/.ssh/id_* that exist).
  c.identity_files_configured =
      !c.identity_files.empty() && !std::all_of(c.identity_files.begin(), c.identity_files.end(), is_default_identity);
  if (!c.identity_files_configured) c.identity_files.clear();
  for (auto& f : c.identity_files) f = expand_tilde(f, home);
  // ssh -G prints the default pair expanded.
  c.user_known_hosts_default =
      c.user_known_hosts_files.empty() ||
      c.user_known_hosts_files == std::vector<std::string>{home + "/.ssh/known_hosts", home + "/.ssh/known_hosts2"} ||
      c.user_known_hosts_files == std::vector<std::string>{"~/.ssh/known_hosts", "~/.ssh/known_hosts2"};
  for (auto& f : c.user_known_hosts_files) f = expand_tilde(f, home);
  return c;
}

Result<std::string> expand_proxy_command(const std::string& command, const std::string& host, int port, const std::string& user,
                                         const std::string& alias) {
  std::string out;
  for (std::size_t i = 0; i < command.size(); ++i) {
    if (command[i] != '%') {
      out.push_back(command[i]);
      continue;
    }
    if (i + 1 >= command.size()) return Status(Errc::invalid_argument, "ProxyCommand '" + command + "' ends with a lone '%'");
    switch (command[++i]) {
      case '%': out.push_back('%'); break;
      case 'h': out += host; break;
      case 'p': out += std::to_string(port); break;
      case 'r': out += user; break;
      case 'n': out += alias; break;
      default:
        return Status(Errc::invalid_argument,
                      "ProxyCommand '" + command + "': unknown token %" + std::string(1, command[i]) + " (pgmigrate knows %h %p %r %n %%)");
    }
  }
  return out;
}

std::vector<std::string> proxy_jump_argv(const std::string& jumps, const std::string& host, int port, const std::string& config_file) {
  // BatchMode: no prompt can be answered, pgmigrate owns the terminal.
  std::vector<std::string> argv = {"ssh"};
  if (!config_file.empty()) argv.insert(argv.end(), {"-F", config_file});
  argv.insert(argv.end(), {"-o", "BatchMode=yes", "-W", host_port(host, port)});
  const auto last_comma = jumps.rfind(',');
  if (last_comma != std::string::npos) argv.insert(argv.end(), {"-J", jumps.substr(0, last_comma)});
  argv.push_back("--");
  argv.push_back(last_comma == std::string::npos ? jumps : jumps.substr(last_comma + 1));
  return argv;
}

std::vector<std::string> ssh_g_argv(const SshGRequest& r) {
  // -T: ssh -G otherwise says "Pseudo-terminal will not be allocated" on stderr.
  std::vector<std::string> argv = {"ssh", "-G", "-T"};
  if (!r.config_file.empty()) argv.insert(argv.end(), {"-F", r.config_file});
  for (const auto& o : r.options) argv.insert(argv.end(), {"-o", o});
  if (!r.user.empty()) argv.insert(argv.end(), {"-l", r.user});
  if (r.port > 0) argv.insert(argv.end(), {"-p", std::to_string(r.port)});
  // "--": a host can never be read as an option.
  argv.insert(argv.end(), {"--", r.host});
  return argv;
}

Result<std::optional<SshConfig>> resolve_ssh_config(const SshGRequest& request, const std::string& home) {
  auto out = run_command(ssh_g_argv(request));
  if (!out) {
    if (out.status().code() == Errc::not_found) return std::optional<SshConfig>();  // no ssh: the host as given
    return out.status().context("running ssh -G");
  }
  const std::string prefix = "the SSH configuration for " + request.host + " cannot be read: ";
  if (!out->success()) {
    const std::string first = out->err.substr(0, out->err.find('\n'));
    return Status(Errc::invalid_argument, prefix + (first.empty() ? describe_wait_status(out->wait_status) : first));
  }
  auto parsed = parse_ssh_g(out->out, home);
  if (!parsed) return Status(parsed.status().code(), prefix + parsed.status().message());
  return std::optional<SshConfig>(std::move(*parsed));
}

}  // namespace pgm::transport
