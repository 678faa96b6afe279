// The object-store ends of `send` and `recv` (s3://, gs://): their flags (shared with
// `pgmigrate objects`) and what the user sees; the settings they fill are objstore/settings.h,
// the transfer itself session/objects.h.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "cli/command.h"
#include "objstore/settings.h"
#include "session/settings.h"
#include "sink/sink.h"
#include "source/source.h"

namespace pgm::cli {

void add_object_options(CLI::App& cmd, objstore::ObjectSettings& o, bool with_follow);

Status send_to_objects(RunContext& ctx, const source::SourceSpec& spec, const session::TransferParams& t,
                       const session::TransferSettings& topts, const std::string& url, const objstore::ObjectSettings& o);
Status recv_from_objects(RunContext& ctx, const std::string& url, const sink::SinkSpec& spec, const session::TransferParams& t,
                         const session::TransferSettings& topts, const objstore::ObjectSettings& o);

}  // namespace pgm::cli
