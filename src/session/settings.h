// A transfer's settings as a command gives them (the text of its flags), and what they resolve
// to: the typed parameters of pgmigrate/session.h, the far end ("[user@]host:NAME") and how to
// reach it, and the wrapper this host's own zfs commands run through. send, recv, migrate and
// the far halves share these settings and spell their flags the same, so a refusal here names
// the flag; cli/ only registers the flags into these structs.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pgmigrate/session.h"
#include "pgmigrate/status.h"
#include "sink/sink.h"
#include "source/source.h"
#include "zfs/flag_settings.h"

namespace pgm::session {

struct TransferSettings {
  std::string chunk_size = "4M";
  // Level 1 by measurement (docs/benchmarks.md): on pgbench-like data it put the same bytes
  // on the wire as level 3 for ~13% less CPU, and these transfers are CPU-bound.
  std::string compress = "1";
  unsigned threads = 0;  // 0: one per core
  std::string max_memory = "192M";
  std::string progress = "auto";
  std::string stall_timeout = "5m";
  std::string rate = "0";    // bytes per second on the wire, all lanes together; 0: no cap
  std::string metrics_file;  // --metrics-file: the Prometheus textfile (session/metrics_file.h)
};

// Validates and converts; the memory bound becomes a chunk budget of max_memory / (2 x chunk
// size), since a chunk in flight holds up to a raw and an encoded copy.
Result<TransferParams> resolve_transfer(const TransferSettings& s);

// What is sent and how it is received, for the commands whose flags say both (send, recv and
// the far halves): zfs send's and zfs receive's flags, or the commands that replace them.
struct StreamSettings {
  std::string incremental, intermediate;  // -i, -I
  bool replicate = false, props = false;  // -R, -p
  std::string send_cmd;
  bool force = false;  // -F
  std::string recv_cmd;
  zfs::FlagSettings zfs;
};
// Into the source's and the sink's flags and commands; which snapshot and target they name is
// the caller's.
Status resolve_stream(const StreamSettings& s, source::SourceSpec& source, sink::SinkSpec& sink);

// An object-store URL (s3://bucket/prefix, gs://...) as the transfers take it, normalized; for
// callers that only pass it on (migrate's --bulk-via), so that they need not know objstore/.
Result<std::string> object_store_url(const std::string& text);

// The far end of a transfer: "-" (stdin/stdout), or "[user@]host:NAME".
struct Endpoint {
  bool stdio = false;
  std::string user;  // empty: the local user
  std::string host;  // empty for stdio
  std::string name;  // dataset or snapshot on that host
};
Result<Endpoint> parse_endpoint(const std::string& text);

struct RemoteSettings {
  unsigned streams = 8;  // measured best at 60 ms RTT (docs/benchmarks.md, sweep)
  std::string remote_bin = "pgmigrate";
  // A login user other than root runs the far pgmigrate through this wrapper (syncoid's
  // convention), and a pgmigrate started by a normal user runs its own zfs commands through it;
  // --no-sudo for hosts that delegate ZFS with `zfs allow` instead (common/elevation.h).
  bool no_sudo = false;
  std::string sudo_cmd = "sudo -n";
  // The SSH settings below default to "not given" so that the OpenSSH configuration can fill
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

// The far host `endpoint` names, reached as `s` says. A host that is an alias of the OpenSSH
// configuration is resolved by `ssh -G` itself.
Result<Remote> resolve_remote(const RemoteSettings& s, const Endpoint& endpoint);

// The wrapper for this process's own zfs commands: --sudo-cmd when it is not root and
// --no-sudo was not given, else "". Fails on contradictory or empty settings.
Result<std::string> local_privilege_wrapper(const RemoteSettings& s);

// A far half's settings (`_serve recv`, `_serve send`), as the near half writes its command line.
struct FarSettings {
  std::string target, snapshot, resume_token;
  std::string wait_for_sender = "10m";  // --reconnect-timeout of the receive
  int tls_port = -1;                    // -1: no TLS lanes
  bool tls_any_peer = false;
  TransferSettings transfer;
  StreamSettings stream;  // the near half passes on those of this side
};
// Runs the far half of a push (serve_recv) or of a pull (serve_send) as `s` says. It runs zfs
// directly: sudo, if any, started this whole process.
Status serve_recv_as(const FarSettings& s, CancelToken& cancel);
Status serve_send_as(const FarSettings& s, CancelToken& cancel);

}  // namespace pgm::session
