#include "cli/object_transfer.h"

#include <cstdio>
#include <cstdlib>
#include <optional>

#include "cli/progress.h"
#include "cli/summary.h"
#include "common/files.h"
#include "common/units.h"
#include "session/objects.h"

namespace pgm::cli {
namespace {

std::optional<std::string> env_lookup(const std::string& name) {
  const char* v = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe): before any thread of the transfer starts
  return v ? std::optional<std::string>(v) : std::nullopt;
}

}  // namespace

void add_object_options(CLI::App& cmd, ObjectCliOptions& o, bool with_follow) {
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
  }
}

Result<objstore::ClientConfig> object_config(const ObjectCliOptions& o, const objstore::Location& at) {
  auto cfg = objstore::resolve_config(at, o.endpoint, env_lookup, [](const std::string& path) -> std::optional<std::string> {
    auto text = read_file(path);
    return text ? std::optional<std::string>(*text) : std::nullopt;
  });
  if (!cfg) return cfg;
  auto retry = parse_duration(o.retry_time);
  if (!retry) return retry.status().context("--s3-retry-time");
  cfg->retry_total = *retry;
  cfg->sse = o.sse;
  cfg->storage_class = o.storage_class;
  return cfg;
}

Status send_to_objects(RunContext& ctx, const source::SourceSpec& spec, const ResolvedTransfer& t, const TransferOptions& topts,
                       const std::string& url, const ObjectCliOptions& o) {
  auto at = objstore::parse_location(url);
  if (!at) return at.status();
  auto cfg = object_config(o, *at);
  if (!cfg) return cfg.status();
  objstore::UploadOptions up;
  auto size = parse_size(o.object_size);
  if (!size) return size.status().context("--s3-object-size");
  up.object_bytes = *size;
  up.concurrency = o.concurrency;
  ProgressView view(parse_progress_mode(topts.progress, ctx.global.quiet));
  auto done = session::send_to_objects(spec, t, *at, *cfg, up, view, ctx.cancel);
  if (!done) return done.status();
  if (!done->sent) {
    if (!ctx.global.quiet) std::fprintf(stderr, "%s already holds this stream, complete: nothing to upload\n", url.c_str());
    return Status::Ok();
  }
  print_summary(*done->sent, ctx.global.quiet);
  if (!ctx.global.quiet)
    std::fprintf(stderr, "stored %llu objects and a manifest at %s (%llu uploaded, %llu kept from an earlier run)\n",
                 static_cast<unsigned long long>(done->stored.objects), url.c_str(), static_cast<unsigned long long>(done->stored.uploaded),
                 static_cast<unsigned long long>(done->stored.kept));
  return Status::Ok();
}

Status recv_from_objects(RunContext& ctx, const std::string& url, const sink::SinkSpec& spec, const ResolvedTransfer& t,
                         const TransferOptions& topts, const ObjectCliOptions& o) {
  auto at = objstore::parse_location(url);
  if (!at) return at.status();
  auto cfg = object_config(o, *at);
  if (!cfg) return cfg.status();
  objstore::DownloadOptions down;
  down.follow = o.follow;
  down.concurrency = o.concurrency;
  auto ft = parse_duration(o.follow_timeout);
  if (!ft) return ft.status().context("--follow-timeout");
  down.follow_timeout = *ft;
  ProgressView view(parse_progress_mode(topts.progress, ctx.global.quiet));
  auto got = session::recv_from_objects(*at, *cfg, down, spec, t, view, ctx.cancel);
  if (!got) return got.status();
  print_summary(*got, ctx.global.quiet);
  return Status::Ok();
}

}  // namespace pgm::cli
