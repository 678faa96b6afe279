#include "cli/migrate_remote.h"

#include <array>
#include <chrono>
#include <nlohmann/json.hpp>

#include "cli/exit.h"
#include "cli/remote_internal.h"
#include "cli/secret_options.h"
#include "common/process.h"
#include "migrate/target.h"
#include "transport/tls.h"

namespace pgm::cli {
namespace {

static_assert(migrate::kMaxSecretsLine == kMaxOptionsLine, "migrate checks its secrets against what the far side reads");

using nlohmann::json;
using std::chrono::milliseconds;

// Runs a far pgmigrate command and returns its stdout. `secrets` (conninfo that may hold a
// password) go on its stdin, never on its command line, which every user there sees in `ps`.
Result<std::string> run_remote(const RemoteOptions& remote, const std::string& command, CancelToken& cancel,
                               const migrate::Secrets& secrets) {
  auto conn = remote.connect(cancel);
  if (!conn) return conn.status();
  std::string full = command;
  if (!secrets.empty()) {
    // `BIN --options-stdin REST`: the flag must come first (see secret_options.h).
    const std::string bin = shell_quote(remote.remote_bin);
    if (full.rfind(bin + " ", 0) != 0) return Status(Errc::internal, "run_remote: secrets need a pgmigrate command");
    full = bin + " " + kOptionsStdinFlag + full.substr(bin.size());
  }
  auto ch = (*conn)->exec(full, cancel);
  if (!ch) return ch.status();
  if (!secrets.empty()) {
    const std::string line = options_line(secrets);
    PGM_RETURN_IF_ERROR((*ch)->write_all({reinterpret_cast<const std::uint8_t*>(line.data()), line.size()}));
  }
  (void)(*ch)->send_eof();
  std::string out;
  std::array<std::uint8_t, 65536> buf{};
  while (!(*ch)->eof()) {
    if (cancel.cancelled()) return cancel.reason();
    auto n = (*ch)->read_some(buf, milliseconds(1000));
    if (!n) return n.status();
    // The far side answers with one JSON document; a far command that streams without end
    // (a wrong --remote-bin, a shell profile) must not grow this process without bound.
    if (out.size() + *n > kMaxCommandOutput)
      return Status(Errc::protocol, "the answer of " + remote.host_label + " to '" + command + "' exceeds " +
                                        std::to_string(kMaxCommandOutput >> 20) + " MiB; giving up");
    out.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
  auto code = (*ch)->wait_exit();
  if (!code) return code.status();
  if (*code != 0)
    return explain_far_exit(**ch, remote,
                            Status(errc_for_exit_code(*code), "on " + remote.host_label + ": exit status " + std::to_string(*code)));
  return out;
}

// With --tls-port, the transfers' data goes straight to that port on the target: try it the
// way they will (a listener there with a fresh key, a TLS handshake from here), so that a
// firewall shows in the plan rather than at the first send.
Status probe_tls_path(const RemoteOptions& remote, const std::string& dataset, CancelToken& cancel) {
  auto conn = remote.connect(cancel);
  if (!conn) return conn.status();
  auto ch = (*conn)->exec(migrate::probe_tls_command(shell_quote, remote.remote_bin, dataset, *remote.tls_port), cancel);
  if (!ch) return ch.status();
  std::string line;
  std::array<std::uint8_t, 4096> buf{};
  const auto deadline = std::chrono::steady_clock::now() + remote.connect_timeout;
  while (line.find('\n') == std::string::npos && !(*ch)->eof() && std::chrono::steady_clock::now() < deadline) {
    if (cancel.cancelled()) return cancel.reason();
    auto n = (*ch)->read_some(buf, milliseconds(200));
    if (!n) return n.status();
    line.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
  json j = json::parse(line.substr(0, line.find('\n')), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return explain_far_exit(**ch, remote, Status(Errc::protocol, "no answer from the TLS probe on " + remote.host_label));
  auto key = transport::TlsKey::from_hex(transport::json_string(j, "key"));
  if (!key) return key.status();
  const int port = remote.tls_dial_port != 0 ? remote.tls_dial_port : static_cast<int>(transport::json_u64(j, "port", 0));
  auto tls = transport::tls_connect(remote.tls_dial_host, port, *key, std::chrono::steady_clock::now() + remote.connect_timeout, cancel);
  if (!tls)
    return Status(tls.status().code(), "the TLS data path does not work from here: " + tls.status().message() +
                                           " (open that port to this host, or drop --tls-port)");
  (void)(*tls)->wait_exit();
  (void)(*ch)->send_eof();
  auto code = (*ch)->wait_exit();
  if (code && *code != 0)
    return explain_far_exit(**ch, remote, Status(errc_for_exit_code(*code), "the TLS probe on " + remote.host_label + " failed"));
  return Status::Ok();
}

class SshRemote final : public migrate::Remote {
 public:
  SshRemote(RunContext& ctx, RemoteOptions remote, ResolvedTransfer transfer, TransferOptions topts)
      : ctx_(ctx), remote_(std::move(remote)), transfer_(transfer), topts_(std::move(topts)) {}

  std::string host_label() const override { return remote_.host_label; }
  std::string remote_bin() const override { return remote_.remote_bin; }
  bool uses_tls() const override { return remote_.tls_port.has_value(); }

  Result<std::string> run(const std::string& command, const migrate::Secrets& secrets, CancelToken& cancel) override {
    return run_remote(remote_, command, cancel, secrets);
  }
  Status probe_tls(const std::string& dataset, CancelToken& cancel) override { return probe_tls_path(remote_, dataset, cancel); }

  // The transfer runs on the command's own cancellation (ctx), which `cancel` is in migrate.
  Result<std::uint64_t> push(const migrate::Push& p, std::atomic<std::uint64_t>& position, CancelToken& /*cancel*/) override {
    source::SourceSpec src;
    src.snapshot = p.snapshot;
    if (!p.base.empty()) src.flags.incremental = p.base;
    sink::SinkSpec dst;
    dst.target = p.dataset;
    dst.flags.force = p.force;
    TransferSummary sum;
    RemoteOptions remote = remote_;
    remote.position = &position;
    remote.summary_out = &sum;
    PGM_RETURN_IF_ERROR(push_to_remote(ctx_, src, dst, transfer_, topts_, remote));
    return sum.logical_bytes;
  }

 private:
  RunContext& ctx_;
  RemoteOptions remote_;
  ResolvedTransfer transfer_;
  TransferOptions topts_;
};

}  // namespace

std::unique_ptr<migrate::Remote> make_migrate_remote(RunContext& ctx, RemoteOptions remote, ResolvedTransfer transfer,
                                                     TransferOptions topts) {
  return std::make_unique<SshRemote>(ctx, std::move(remote), transfer, std::move(topts));
}

}  // namespace pgm::cli
