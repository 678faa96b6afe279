// `pgmigrate objects ls|verify|rm URL`: what an upload at s3://... or gs://... holds, whether it
// verifies against its manifest (every chunk decoded and checked by the receive pipeline, the
// bytes discarded), and deleting it. Uploads are single PUTs (no multipart), so rm leaves no
// abandoned parts behind.
#include <cstdio>
#include <memory>
#include <optional>
#include <vector>

#include "cli/command.h"
#include "cli/object_transfer.h"
#include "objstore/client.h"
#include "objstore/describe.h"
#include "session/settings.h"

namespace pgm::cli {
namespace {

struct ObjectsArgs {
  std::string url;
  ObjectCliOptions objects;
  session::TransferSettings transfer;
};

// An upload's location, a client for its bucket, and every key under its prefix.
struct Listed {
  objstore::Location at;
  std::unique_ptr<objstore::Client> client;
  std::vector<objstore::ObjectInfo> keys;
};

Result<Listed> list_upload(RunContext& ctx, const ObjectsArgs& a) {
  auto at = objstore::parse_location(a.url);
  if (!at) return at.status();
  auto cfg = object_config(a.objects, *at);
  if (!cfg) return cfg.status();
  Listed l{*at, std::make_unique<objstore::Client>(*cfg, at->bucket, ctx.cancel), {}};
  auto keys = l.client->list(at->prefix.empty() ? "" : at->prefix + "/");
  if (!keys) return keys.status();
  l.keys = std::move(*keys);
  return l;
}

Status ls(RunContext& ctx, const ObjectsArgs& a) {
  auto o = list_upload(ctx, a);
  if (!o) return o.status();
  print_lines(stdout, objstore::object_lines(o->keys));
  auto m = o->client->get(objstore::manifest_key(o->at));
  if (!m) return m.status();
  std::optional<objstore::Manifest> man;
  if (*m) {
    auto decoded = objstore::decode_manifest(std::string((*m)->body.begin(), (*m)->body.end()));
    if (!decoded) return decoded.status().context(o->at.url() + "/manifest.json");
    man = std::move(*decoded);
  }
  std::printf("%s\n", objstore::upload_state_line(o->at, o->keys, man ? &*man : nullptr).c_str());
  return Status::Ok();
}

Status verify(RunContext& ctx, const ObjectsArgs& a) {
  auto t = session::resolve_transfer(a.transfer);
  if (!t) return t.status();
  sink::SinkSpec discard;
  discard.recv_cmd = "cat > /dev/null";
  ObjectCliOptions no_follow = a.objects;
  no_follow.follow = false;
  PGM_RETURN_IF_ERROR(recv_from_objects(ctx, a.url, discard, *t, a.transfer, no_follow));
  std::printf("%s: every chunk verified against the manifest\n", a.url.c_str());
  return Status::Ok();
}

Status rm(RunContext& ctx, const ObjectsArgs& a) {
  auto o = list_upload(ctx, a);
  if (!o) return o.status();
  const auto* keys = &o->keys;
  auto& client = *o->client;
  // The manifest first: from then on no reader takes what is left for a complete upload.
  std::string manifest = objstore::manifest_key(o->at);
  for (const auto& k : *keys)
    if (k.key == manifest) PGM_RETURN_IF_ERROR(client.remove(k.key));
  for (const auto& k : *keys)
    if (k.key != manifest) PGM_RETURN_IF_ERROR(client.remove(k.key));
  std::printf("removed %zu objects under %s\n", keys->size(), o->at.url().c_str());
  return Status::Ok();
}

}  // namespace

void register_objects(CLI::App& app, CommandFn& selected) {
  CLI::App* cmd = app.add_subcommand("objects", "Uploads in object storage (s3://bucket/prefix, gs://bucket/prefix)");
  cmd->require_subcommand(1);
  struct Sub {
    const char* name;
    const char* help;
    Status (*run)(RunContext&, const ObjectsArgs&);
  };
  static const Sub kSubs[] = {{"ls", "List the objects of an upload and whether it is complete", ls},
                              {"verify", "Read the whole upload and verify every chunk against its manifest", verify},
                              {"rm", "Delete an upload (its manifest first)", rm}};
  for (const auto& s : kSubs) {
    auto args = std::make_shared<ObjectsArgs>();
    CLI::App* sub = cmd->add_subcommand(s.name, s.help);
    sub->add_option("url", args->url, "s3://bucket/prefix or gs://bucket/prefix")->required();
    add_object_options(*sub, args->objects, false);
    auto run = s.run;
    sub->callback([args, run, &selected] { selected = [args, run](RunContext& ctx) { return run(ctx, *args); }; });
  }
}

}  // namespace pgm::cli
