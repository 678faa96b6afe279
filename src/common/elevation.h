// How a pgmigrate that is not root reaches root: the privilege wrapper (`sudo -n` by default,
// --sudo-cmd for doas or a site's script, none with --no-sudo where ZFS is delegated with
// `zfs allow`). Both halves decide it here and say a refusal the same way: the far half wraps
// the whole far pgmigrate (transport/elevated_connector.h), the near half wraps each
// privileged command it runs itself (zfs, through zfs::Zfs), so that its SSH keys, agent and
// known_hosts stay the user's own.
#pragma once

#include <string>
#include <vector>

#include "pgmigrate/status.h"

namespace pgm {

// The wrapper a process running as `runs_as_root` uses: "" (run directly) for root or with
// --no-sudo, else `sudo_cmd`.
std::string privilege_wrapper(bool runs_as_root, bool no_sudo, const std::string& sudo_cmd);

// A local command run through `wrapper`: its words (split at blanks; no shell is involved)
// followed by `argv`. An empty wrapper leaves `argv` as it is.
std::vector<std::string> elevated_argv(const std::string& wrapper, std::vector<std::string> argv);

// Whether `err` (a failed command's stderr) is the wrapper's own refusal rather than the
// command's failure: its last line starts with the wrapper's program name ("sudo: a password is
// required", "doas: Operation not permitted").
bool is_wrapper_refusal(const std::string& wrapper, const std::string& err);

// The wrapper's own words in a failed command's stderr: its last non-empty line.
std::string wrapper_said(const std::string& err);

// The one line for a refusal: on `where`, `wrapper` would not run `what` for `user` (`said`:
// the wrapper's own words), and the two ways out (a sudoers line, or `zfs allow` + --no-sudo).
Status elevation_refused(const std::string& where, const std::string& wrapper, const std::string& what, const std::string& user,
                         const std::string& said);

// The name of the user this process runs as (effective uid), "uid N" if it has none.
std::string effective_user_name();
// This host's name, for messages ("this host" if it has none).
std::string this_host_name();

}  // namespace pgm
