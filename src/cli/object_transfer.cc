#include "cli/object_transfer.h"

#include <cstdio>

#include "cli/progress.h"
#include "objstore/describe.h"
#include "session/describe.h"
#include "session/objects.h"

namespace pgm::cli {

void add_object_options(CLI::App& cmd, objstore::ObjectSettings& o, bool with_follow) {
  cmd.add_option("--s3-endpoint", o.endpoint, "Object store endpoint URL (Ceph RGW, MinIO, R2...); requests are path-style");
  cmd.add_option("--s3-sse", o.sse, "x-amz-server-side-encryption for uploaded objects (AES256, aws:kms)");
  cmd.add_option("--s3-storage-class", o.storage_class, "x-amz-storage-class for uploaded objects");
  cmd.add_option("--s3-object-size", o.object_size, "Stream bytes per object (whole chunks)")->capture_default_str();
  cmd.add_option("--s3-concurrency", o.concurrency, "Object requests in flight")->capture_default_str();
  cmd.add_option("--s3-retry-time", o.retry_time, "Give up on a request that keeps failing after this long")->capture_default_str();
  if (with_follow) {
    cmd.add_flag("--follow", o.follow, "Read an upload while it runs: wait for each object until the manifest says the end");
    cmd.add_option("--follow-timeout", o.follow_timeout, "With --follow: give up when nothing new appears for this long")
        ->capture_default_str();
    cmd.add_flag("--until-stdin-closes", o.until_stdin_closes, "Stop when stdin closes (migrate run --bulk-via)")->group("");
  }
}

Status send_to_objects(RunContext& ctx, const source::SourceSpec& spec, const session::TransferParams& t,
                       const session::TransferSettings& topts, const std::string& url, const objstore::ObjectSettings& o) {
  ProgressView view(parse_progress_mode(topts.progress, ctx.global.quiet));
  objstore::UploadSummary stored;
  PGM_ASSIGN_OR_RETURN(auto sent, session::upload_to_objects(spec, t, url, o, view, ctx.cancel, &stored));
  if (stored.already_complete) {
    if (!ctx.global.quiet) std::fprintf(stderr, "%s already holds this stream, complete: nothing to upload\n", url.c_str());
    return Status::Ok();
  }
  if (!ctx.global.quiet) print_lines(stderr, session::summary_lines(sent));
  if (!ctx.global.quiet) std::fprintf(stderr, "%s\n", objstore::stored_line(stored, url).c_str());
  return Status::Ok();
}

Status recv_from_objects(RunContext& ctx, const std::string& url, const sink::SinkSpec& spec, const session::TransferParams& t,
                         const session::TransferSettings& topts, const objstore::ObjectSettings& o) {
  ProgressView view(parse_progress_mode(topts.progress, ctx.global.quiet));
  PGM_ASSIGN_OR_RETURN(auto got, session::recv_from_objects(url, o, spec, t, view, ctx.cancel));
  if (!ctx.global.quiet) print_lines(stderr, session::summary_lines(got));
  return Status::Ok();
}

}  // namespace pgm::cli
