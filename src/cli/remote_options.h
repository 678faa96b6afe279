// Options for transfers to and from another host: SSH trust and the data connections.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "cli/endpoint.h"
#include "cli/remote_transfer.h"

namespace pgm::cli {

struct RemoteCliOptions {
  unsigned streams = 8;  // measured best at 60 ms RTT (docs/benchmarks.md, sweep)
  std::string remote_bin = "pgmigrate";
  // A login user other than root runs the far pgmigrate through this wrapper (syncoid's
  // convention), and a pgmigrate started by a normal user runs its own zfs commands through it;
  // --no-sudo for hosts that delegate ZFS with `zfs allow` instead (common/elevation.h).
  bool no_sudo = false;
  std::string sudo_cmd = "sudo -n";
  // The SSH options below default to "not given" so that the OpenSSH configuration can fill
  // them in, and an explicit flag wins over it.
  int port = 0;  // 0: the configuration's Port, else 22
  std::vector<std::string> identities;
  std::string known_hosts;
  bool accept_new_host_key = false;
  std::string connect_timeout;           // empty: the configuration's ConnectTimeout, else 30s
  std::string ssh_config;                // like ssh -F
  std::vector<std::string> ssh_options;  // like ssh -o KEY=VALUE, given to `ssh -G`
  bool local_exec = false;               // testing aid: run the far half locally instead of over SSH
  std::string reconnect_timeout = "10m";
  std::int64_t inject_corrupt_chunk = -1;  // testing aid
  int tls_port = -1;                       // -1: data over SSH channels
  std::string tls_connect;
};

void add_remote_options(CLI::App& cmd, RemoteCliOptions& opts);
Result<RemoteOptions> make_remote(const RemoteCliOptions& opts, const Endpoint& endpoint);
// The wrapper for this process's own zfs commands: --sudo-cmd when it is not root and
// --no-sudo was not given, else "". Fails on contradictory or empty flags.
Result<std::string> local_privilege_wrapper(const RemoteCliOptions& opts);

}  // namespace pgm::cli
