// `send` and `recv` through an object store (s3://, gs://), in one process: the stream that
// send_to_fd would write goes through a pipe to objstore's uploader, and what objstore's
// downloader writes comes back through a pipe into recv_from_fd, the same verifying receive
// pipeline as a stream on stdin. objstore/ never decodes a payload. Nothing here prints.
#pragma once

#include <optional>

#include "common/cancel.h"
#include "objstore/location.h"
#include "objstore/relay.h"
#include "objstore/settings.h"
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

// The same from a URL and the `--s3-*` settings as given (objstore/settings.h), checked in the
// order a user meets them: the URL, the store's configuration, then the upload's or download's
// own settings.
// upload_to_objects: the sender's summary (empty when the store already held this stream,
// complete: nothing was uploaded); `stored_out`, if given, gets what the store holds now.
Result<TransferSummary> upload_to_objects(const source::SourceSpec& spec, const TransferParams& t, const std::string& url,
                                          const objstore::ObjectSettings& settings, Observer& observer, CancelToken& cancel,
                                          objstore::UploadSummary* stored_out = nullptr);
// With `settings.until_stdin_closes`, stdin's end cancels the receive (common/stdin_watch.h).
Result<TransferSummary> recv_from_objects(const std::string& url, const objstore::ObjectSettings& settings, const sink::SinkSpec& spec,
                                          const TransferParams& t, Observer& observer, CancelToken& cancel);

// --bulk-via's needs on this host: the --s3-* flags a far `objects ls` / `recv --follow` takes
// (the endpoint and request limits as given here; credentials are the far host's own), each
// word shell-quoted; and a listing of `url`'s prefix with this host's credentials.
std::string far_object_flags(const objstore::ObjectSettings& settings);
Status probe_objects_here(const objstore::ObjectSettings& settings, const std::string& url, CancelToken& cancel);

}  // namespace pgm::session
