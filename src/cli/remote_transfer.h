// Transfers between this host and a pgmigrate on another host: one control channel plus N
// data lanes, each its own connection. The local halves (push_to_remote, pull_from_remote)
// and the remote halves (serve_recv, serve_send, run by `pgmigrate _serve ...` through sshd)
// live together here because they speak the same protocol (docs/stream-format.md).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "cli/command.h"
#include "cli/summary.h"
#include "cli/transfer_options.h"
#include "sink/sink.h"
#include "source/source.h"
#include "transport/channel.h"

namespace pgm::cli {

// Makes a new connection to the far host (one per lane, one for control).
using ConnectFn = std::function<Result<std::unique_ptr<transport::Connector>>(const CancelToken&)>;

struct RemoteOptions {
  ConnectFn connect;
  std::string remote_bin = "pgmigrate";
  unsigned streams = 8;
  std::string host_label;                                // "user@host" for messages
  std::chrono::milliseconds reconnect_timeout{600'000};  // a dropped data connection is retried this long
  std::optional<std::uint64_t> inject_corrupt_chunk;     // testing aid (--inject-corrupt-chunk)
  std::chrono::milliseconds connect_timeout{30'000};
  // The optional TLS data path (--tls-port): the far half listens on tls_port (0: a free port
  // it picks) and the lanes dial tls_dial_host, at tls_dial_port or else the port it reports.
  std::optional<int> tls_port;
  std::string tls_dial_host;
  int tls_dial_port = 0;
  // For callers that report on a push (migrate): the stream position, updated about ten
  // times a second, and the summary of a transfer that succeeded.
  std::atomic<std::uint64_t>* position = nullptr;
  TransferSummary* summary_out = nullptr;
};

Status push_to_remote(RunContext& ctx, const source::SourceSpec& source, const sink::SinkSpec& remote_sink, const ResolvedTransfer& t,
                      const TransferOptions& topts, const RemoteOptions& remote);
Status pull_from_remote(RunContext& ctx, const source::SourceSpec& requested_source, const sink::SinkSpec& sink, const ResolvedTransfer& t,
                        const TransferOptions& topts, const RemoteOptions& remote);

// The far halves: control on stdin/stdout, lanes attach through `_lane`.
// A receive whose sender goes away (killed, crashed, control connection lost) stays open for
// `wait_for_sender` so that the same send, run again, can resume it; zero: fail at once.
// With `tls`, lanes may also come as direct TLS connections (--tls-port; 0: any free port).
struct FarTls {
  int port = 0;
  // Only TLS connections from this address are taken (the near host, as $SSH_CONNECTION names
  // it); "" takes any (--tls-connect: the lanes may come through NAT or a port forward).
  std::string allow_from;
};
Status serve_recv(RunContext& ctx, const sink::SinkSpec& spec, const ResolvedTransfer& t, std::chrono::milliseconds wait_for_sender,
                  const std::optional<FarTls>& tls);
Status serve_send(RunContext& ctx, const source::SourceSpec& spec, const ResolvedTransfer& t, const std::optional<FarTls>& tls);

}  // namespace pgm::cli
