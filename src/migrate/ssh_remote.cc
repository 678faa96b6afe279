#include "migrate/ssh_remote.h"

#include <array>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <utility>

#include "common/exit_codes.h"
#include "common/process.h"
#include "common/secret_options.h"
#include "migrate/target.h"
#include "session/far_command.h"
#include "transport/control.h"
#include "transport/tls.h"

namespace pgm::migrate {
namespace {

static_assert(kMaxSecretsLine == kMaxOptionsLine, "migrate checks its secrets against what the far side reads");

using session::explain_far_exit;

using nlohmann::json;
using std::chrono::milliseconds;

// Runs a far pgmigrate command and returns its stdout. `secrets` (conninfo that may hold a
// password) go on its stdin, never on its command line, which every user there sees in `ps`.
Result<std::string> run_remote(const session::Remote& remote, const std::string& command, CancelToken& cancel, const Secrets& secrets) {
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
Status probe_tls_path(const session::Remote& remote, const std::string& dataset, CancelToken& cancel) {
  auto conn = remote.connect(cancel);
  if (!conn) return conn.status();
  auto ch = (*conn)->exec(probe_tls_command(shell_quote, remote.remote_bin, dataset, *remote.tls_port), cancel);
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

class SshRemote final : public Remote {
 public:
  SshRemote(session::Remote remote, PushFn push, ObjectRelay objects)
      : remote_(std::move(remote)), push_(std::move(push)), objects_(std::move(objects)) {}

  std::string host_label() const override { return remote_.host_label; }
  std::string remote_bin() const override { return remote_.remote_bin; }
  bool uses_tls() const override { return remote_.tls_port.has_value(); }

  Result<std::string> run(const std::string& command, const Secrets& secrets, CancelToken& cancel) override {
    return run_remote(remote_, command, cancel, secrets);
  }
  Status probe_tls(const std::string& dataset, CancelToken& cancel) override { return probe_tls_path(remote_, dataset, cancel); }
  Result<std::uint64_t> push(const Push& p, std::atomic<std::uint64_t>& position, CancelToken& cancel) override {
    return push_(p, position, cancel);
  }

  Status probe_objects(const std::string& url, CancelToken& cancel) override {
    PGM_RETURN_IF_ERROR(objects_.probe_here(url, cancel));
    // From the target, with its own credentials (its environment, its user's ~/.aws).
    return run_remote(remote_, far_objects_command("objects ls", url), cancel, {}).status();  // its message names the host
  }

  // The far receive follows the upload (recv --follow); its stdin stays open while this side
  // uploads, and closing it (an upload that failed, this process killed) ends it at once.
  Result<std::uint64_t> relay(const Push& p, const std::string& url, CancelToken& cancel) override;

 private:
  std::string far_objects_command(const std::string& verb, const std::string& url) const {
    return shell_quote(remote_.remote_bin) + " " + verb + objects_.far_flags + " " + shell_quote(url);
  }

  session::Remote remote_;
  PushFn push_;
  ObjectRelay objects_;
};

Result<std::uint64_t> SshRemote::relay(const Push& p, const std::string& url, CancelToken& cancel) {
  auto conn = remote_.connect(cancel);
  if (!conn) return conn.status();
  // The migration's receive flags (-u, -o, -x) as the far `recv` spells them.
  std::string recv_flags;
  for (const auto& word : session::recv_flag_words(p.recv)) recv_flags.append(" ").append(shell_quote(word));
  auto ch = (*conn)->exec(
      far_objects_command("recv --follow --until-stdin-closes --progress none" + recv_flags, url) + " " + shell_quote(p.dataset), cancel);
  if (!ch) return ch.status();
  CancelToken upload_cancel;
  CancelLink link(cancel, upload_cancel);
  std::optional<Result<std::uint64_t>> sent;
  std::atomic<bool> upload_ended{false};
  std::thread uploader([&] {
    sent = objects_.upload(p, url, upload_cancel);
    upload_ended.store(true, std::memory_order_release);
  });
  bool closed = false;
  Status read_failure;
  std::array<std::uint8_t, 4096> buf{};
  while (!(*ch)->eof()) {
    if (!closed && upload_ended.load(std::memory_order_acquire) && !*sent) {
      (void)(*ch)->send_eof();
      closed = true;
    }
    auto n = (*ch)->read_some(buf, milliseconds(200));
    if (!n) {
      read_failure = n.status();
      break;
    }
  }
  const bool far_first = !upload_ended.load(std::memory_order_acquire);
  if (far_first) upload_cancel.cancel(Status(Errc::interrupted, "the receive on " + remote_.host_label + " ended first"));
  uploader.join();
  if (!read_failure.ok()) return *sent ? read_failure : sent->status();
  auto code = (*ch)->wait_exit();
  if (!code) return code.status();
  Status far = *code == 0 ? Status::Ok()
                          : explain_far_exit(**ch, remote_,
                                             Status(errc_for_exit_code(*code), "the receive from " + url + " on " + remote_.host_label +
                                                                                   ": exit status " + std::to_string(*code)));
  // The first failure is the cause; the other end's is its echo.
  if (!far.ok() && (far_first || *sent)) return far;
  if (!*sent) return sent->status();
  if (!far.ok()) return far;
  return **sent;
}

}  // namespace

std::unique_ptr<Remote> ssh_remote(session::Remote remote, PushFn push, ObjectRelay objects) {
  return std::make_unique<SshRemote>(std::move(remote), std::move(push), std::move(objects));
}

}  // namespace pgm::migrate
