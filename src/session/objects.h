// `send` and `recv` through an object store (s3://, gs://), in one process: the stream that
// send_to_fd would write goes through a pipe to objstore's uploader, and what objstore's
// downloader writes comes back through a pipe into recv_from_fd, the same verifying receive
// pipeline as a stream on stdin. objstore/ never decodes a payload. Nothing here prints.
#pragma once

#include <optional>

#include "common/cancel.h"
#include "objstore/location.h"
#include "objstore/relay.h"
#include "pgmigrate/session.h"
#include "pgmigrate/status.h"
#include "sink/sink.h"
#include "source/source.h"

namespace pgm::session {

struct ObjectUpload {
  objstore::UploadSummary stored;
  std::optional<TransferSummary> sent;  // none when the store already held this stream, complete
};

Result<ObjectUpload> send_to_objects(const source::SourceSpec& spec, const TransferParams& t, const objstore::Location& at,
                                     const objstore::ClientConfig& config, const objstore::UploadOptions& up, Observer& observer,
                                     CancelToken& cancel);
Result<TransferSummary> recv_from_objects(const objstore::Location& at, const objstore::ClientConfig& config,
                                          const objstore::DownloadOptions& down, const sink::SinkSpec& spec, const TransferParams& t,
                                          Observer& observer, CancelToken& cancel);

}  // namespace pgm::session
