// The cli's side of transfers to and from another host: the session library (src/session)
// does the work; these adapters render its progress, print its summary and keep the
// signatures the commands (send, recv, migrate) call.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

#include "cli/command.h"
#include "cli/transfer_options.h"
#include "pgmigrate/session.h"
#include "session/metrics_file.h"
#include "sink/sink.h"
#include "source/source.h"

namespace pgm::cli {

using session::ConnectFn;
using session::FarTls;
using session::TransferSummary;

struct RemoteOptions : session::Remote {
  // For callers that report on a push (migrate): the stream position, updated about ten
  // times a second, and the summary of a transfer that succeeded.
  std::atomic<std::uint64_t>* position = nullptr;
  TransferSummary* summary_out = nullptr;
  // The host's network name: the configuration's HostName for an alias (`db2` means nothing to
  // libpq or DNS), else the host as given. migrate's default standby conninfo uses it.
  std::string network_host;
  // A caller's own metrics file (migrate's); null: the transfer writes --metrics-file itself.
  session::MetricsFile* metrics = nullptr;
};

// Runs `transfer` with the progress renderer and the metrics file watching it, records its
// outcome there, and prints its summary. `position`, `summary_out`: as in RemoteOptions.
Status run_observed(RunContext& ctx, const TransferOptions& topts, session::MetricsFile* shared_metrics,
                    std::atomic<std::uint64_t>* position, TransferSummary* summary_out,
                    const std::function<Result<TransferSummary>(session::Observer&)>& transfer);

Status push_to_remote(RunContext& ctx, const source::SourceSpec& source, const sink::SinkSpec& remote_sink, const ResolvedTransfer& t,
                      const TransferOptions& topts, const RemoteOptions& remote);
Status pull_from_remote(RunContext& ctx, const source::SourceSpec& requested_source, const sink::SinkSpec& sink, const ResolvedTransfer& t,
                        const TransferOptions& topts, const RemoteOptions& remote);

}  // namespace pgm::cli
