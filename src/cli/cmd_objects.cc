// `pgmigrate objects ls|verify|rm URL`: what an upload at s3://... or gs://... holds, whether it
// verifies against its manifest (every chunk decoded and checked by the receive pipeline, the
// bytes discarded), and deleting it. Uploads are single PUTs (no multipart), so rm leaves no
// abandoned parts behind.
#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "cli/object_transfer.h"
#include "objstore/describe.h"
#include "objstore/uploads.h"
#include "session/settings.h"

namespace pgm::cli {
namespace {

struct ObjectsArgs {
  std::string url;
  objstore::ObjectSettings objects;
  session::TransferSettings transfer;
};

Status ls(RunContext& ctx, const ObjectsArgs& a) {
  PGM_ASSIGN_OR_RETURN(auto o, objstore::list_upload(a.url, a.objects, ctx.cancel));
  print_lines(stdout, objstore::object_lines(o.keys));
  PGM_ASSIGN_OR_RETURN(auto man, objstore::read_manifest(*o.client, o.at));
  std::printf("%s\n", objstore::upload_state_line(o.at, o.keys, man ? &*man : nullptr).c_str());
  return Status::Ok();
}

Status verify(RunContext& ctx, const ObjectsArgs& a) {
  PGM_ASSIGN_OR_RETURN(auto t, session::resolve_transfer(a.transfer));
  sink::SinkSpec discard;
  discard.recv_cmd = "cat > /dev/null";
  objstore::ObjectSettings no_follow = a.objects;
  no_follow.follow = false;
  PGM_RETURN_IF_ERROR(recv_from_objects(ctx, a.url, discard, t, a.transfer, no_follow));
  std::printf("%s: every chunk verified against the manifest\n", a.url.c_str());
  return Status::Ok();
}

Status rm(RunContext& ctx, const ObjectsArgs& a) {
  PGM_ASSIGN_OR_RETURN(auto o, objstore::list_upload(a.url, a.objects, ctx.cancel));
  PGM_RETURN_IF_ERROR(objstore::remove_upload(o));
  std::printf("removed %zu objects under %s\n", o.keys.size(), o.at.url().c_str());
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
