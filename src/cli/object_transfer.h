// The object-store ends of `send` and `recv` (s3://, gs://): their flags (shared with
// `pgmigrate objects`), the store's configuration from them, and what the user sees; the
// transfer itself is session/objects.h.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "cli/command.h"
#include "objstore/location.h"
#include "objstore/relay.h"
#include "pgmigrate/session.h"
#include "session/settings.h"
#include "sink/sink.h"
#include "source/source.h"

namespace pgm::cli {

struct ObjectCliOptions {
  std::string endpoint;  // --s3-endpoint
  std::string sse, storage_class;
  std::string object_size = "32M";
  unsigned concurrency = objstore::kDefaultConcurrency;
  std::string retry_time = "2m";
  bool follow = false;
  std::string follow_timeout = "10m";
  // Hidden (recv): stop when stdin closes. `migrate run --bulk-via` starts the target's receive
  // over SSH with this, so that a run that fails or is killed ends its follower at once
  // instead of leaving it polling until --follow-timeout.
  bool until_stdin_closes = false;
};
void add_object_options(CLI::App& cmd, ObjectCliOptions& o, bool with_follow);
// The location and how to reach it (endpoint, region, credentials from the environment).
Result<objstore::ClientConfig> object_config(const ObjectCliOptions& o, const objstore::Location& at);

// The upload of send_to_objects without what it prints: the sender's summary, or why it failed.
// `already_complete` is set when the store held this stream, complete (nothing was uploaded).
Result<session::TransferSummary> upload_to_objects(const source::SourceSpec& spec, const session::TransferParams& t, const std::string& url,
                                                   const ObjectCliOptions& o, session::Observer& view, CancelToken& cancel,
                                                   objstore::UploadSummary* stored_out = nullptr);
Status send_to_objects(RunContext& ctx, const source::SourceSpec& spec, const session::TransferParams& t,
                       const session::TransferSettings& topts, const std::string& url, const ObjectCliOptions& o);
Status recv_from_objects(RunContext& ctx, const std::string& url, const sink::SinkSpec& spec, const session::TransferParams& t,
                         const session::TransferSettings& topts, const ObjectCliOptions& o);

}  // namespace pgm::cli
