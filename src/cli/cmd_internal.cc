// Commands that pgmigrate runs on the far host through sshd; not for people. `_serve` is the
// remote half of a transfer (control on stdin/stdout), `_lane` hands one data connection to
// it (src/transport/lane_socket.h).
#include "cli/command.h"
#include "cli/options.h"
#include "session/settings.h"
#include "transport/lane_socket.h"

namespace pgm::cli {

void register_internal(CLI::App& app, CommandFn& selected) {
  auto a = std::make_shared<session::FarSettings>();
  auto socket = std::make_shared<std::string>();

  CLI::App* serve = app.add_subcommand("_serve", "Internal: the remote half of a transfer")->group("");
  serve->require_subcommand(1);
  CLI::App* srecv = serve->add_subcommand("recv", "Receive lanes into zfs receive");
  srecv->add_option("--target", a->target);
  srecv->add_flag("-F", a->stream.force);
  srecv->add_option("--recv-cmd", a->stream.recv_cmd);
  srecv->add_option("--reconnect-timeout", a->wait_for_sender);
  add_zfs_options(*srecv, a->stream.zfs, false);
  CLI::App* ssend = serve->add_subcommand("send", "Serve a zfs send stream to lanes");
  ssend->add_option("--snapshot", a->snapshot);
  ssend->add_option("-i", a->stream.incremental);
  ssend->add_option("-I", a->stream.intermediate);
  ssend->add_flag("-R", a->stream.replicate);
  ssend->add_flag("-p", a->stream.props);
  ssend->add_option("--send-cmd", a->stream.send_cmd);
  ssend->add_option("--resume-token", a->resume_token);
  add_zfs_options(*ssend, a->stream.zfs, true);
  for (CLI::App* half : {srecv, ssend}) {
    half->add_option("--tls-port", a->tls_port)->check(CLI::Range(0, 65535));
    half->add_flag("--tls-any-peer", a->tls_any_peer);
    add_transfer_options(*half, a->transfer);
  }
  on_run(srecv, selected, [a](RunContext& ctx) { return session::serve_recv_as(*a, ctx.cancel); });
  on_run(ssend, selected, [a](RunContext& ctx) { return session::serve_send_as(*a, ctx.cancel); });

  CLI::App* lane = app.add_subcommand("_lane", "Internal: attach this connection to a waiting transfer")->group("");
  lane->add_option("--socket", *socket)->required();
  on_run(lane, selected, [socket](RunContext&) { return transport::attach_lane(*socket); });
}

}  // namespace pgm::cli
