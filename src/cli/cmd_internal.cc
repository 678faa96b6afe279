// Commands that pgmigrate runs on the far host through sshd; not for people. `_serve` is the
// remote half of a transfer (control on stdin/stdout), `_lane` hands one data connection to
// it (src/transport/lane_socket.h).
#include "cli/command.h"
#include "cli/options.h"
#include "common/units.h"
#include "pgmigrate/session.h"
#include "session/settings.h"
#include "transport/lane_socket.h"
#include "transport/tls.h"

namespace pgm::cli {

namespace {
// TLS lanes come from the host whose SSH connection started us, unless the near side dials
// through NAT or a forward (--tls-connect), which it says with --tls-any-peer.
std::optional<session::FarTls> far_tls(int port, bool any_peer) {
  if (port < 0) return std::nullopt;
  return session::FarTls{port, any_peer ? std::string() : transport::ssh_client_address()};
}
}  // namespace

void register_internal(CLI::App& app, CommandFn& selected) {
  struct ServeArgs {
    std::string target, snapshot, socket, resume_token, wait_for_sender = "10m";
    int tls_port = -1;  // -1: no TLS lanes
    bool tls_any_peer = false;
    session::TransferSettings transfer;
    session::StreamSettings stream;  // the near half passes on those of this side
  };
  auto a = std::make_shared<ServeArgs>();

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
  on_run(srecv, selected, [a](RunContext& ctx) -> Status {
    auto t = session::resolve_transfer(a->transfer);
    if (!t) return t.status();
    // The far half runs zfs directly: sudo, if any, started this whole process.
    source::SourceSpec unused;
    sink::SinkSpec spec;
    spec.target = a->target;
    PGM_RETURN_IF_ERROR(session::resolve_stream(a->stream, unused, spec));
    auto wait = parse_duration(a->wait_for_sender);
    if (!wait) return wait.status().context("--reconnect-timeout");
    return session::serve_recv(spec, *t, *wait, far_tls(a->tls_port, a->tls_any_peer), ctx.cancel);
  });
  on_run(ssend, selected, [a](RunContext& ctx) -> Status {
    auto t = session::resolve_transfer(a->transfer);
    if (!t) return t.status();
    source::SourceSpec spec;
    spec.snapshot = a->snapshot;
    spec.resume_token = a->resume_token;
    sink::SinkSpec unused;
    PGM_RETURN_IF_ERROR(session::resolve_stream(a->stream, spec, unused));
    return session::serve_send(spec, *t, far_tls(a->tls_port, a->tls_any_peer), ctx.cancel);
  });

  CLI::App* lane = app.add_subcommand("_lane", "Internal: attach this connection to a waiting transfer")->group("");
  lane->add_option("--socket", a->socket)->required();
  on_run(lane, selected, [a](RunContext&) -> Status { return transport::attach_lane(a->socket); });
}

}  // namespace pgm::cli
