#include "transport/ssh/ssh_channel.h"

#include <libssh2.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "common/text.h"
#include "transport/ssh/ssh_session.h"

// How the non-blocking loops stay correct with libssh2 1.10:
//  * After a call returns LIBSSH2_ERROR_EAGAIN with a packet half sent (block direction
//    OUTBOUND), the next libssh2 call must be that same call: another packet would be refused
//    (LIBSSH2_ERROR_BAD_USE). So nothing else runs until the half-sent packet is out.
//  * libssh2 re-opens our receive window only inside channel reads, and stderr shares the
//    window with stdout. A loop that waits for stdout, or for sshd's window to write stdin,
//    therefore reads stderr before it sleeps, or a chatty command would stall the channel.
//  * Any libssh2 call may pull packets off the socket. If one did so after the call we are
//    retrying said EAGAIN, sleeping in poll() could wait for bytes that already arrived; so
//    we sleep only if nothing observable changed (windows, queued bytes, end of stream,
//    stderr, and for writers whether the channel closed).

namespace pgm::transport {
namespace {

constexpr std::size_t kReadPiece = 32 << 10;   // libssh2 reads the socket 16 KiB at a time
constexpr std::size_t kStderrKeep = 16 << 10;  // like Subprocess: the tail is what explains a failure
const auto kForever = std::chrono::steady_clock::time_point::max();

}  // namespace

SshChannel::SshChannel(SshSession& session, LIBSSH2_CHANNEL* channel, std::string command)
    : session_(session), channel_(channel), command_(std::move(command)) {
  ++session_.live_channels_;
}

SshChannel::~SshChannel() {
  --session_.live_channels_;
  // A broken or cancelled session may hold a half-sent packet; the session's own teardown frees
  // the channel then. Otherwise free it now, waiting a little for the close to go out.
  if (!session_.broken_.ok() || session_.cancel_.cancelled()) return;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  for (;;) {
    int rc = libssh2_channel_free(channel_);
    if (rc != LIBSSH2_ERROR_EAGAIN) return;
    if (!session_.wait_socket(deadline).ok()) break;
  }
  // Given up: libssh2 keeps the channel and frees it with the session. A close packet left
  // half sent would make the session's next call fail oddly; say plainly that it is spent.
  if (libssh2_session_block_directions(session_.session_) & LIBSSH2_SESSION_BLOCK_OUTBOUND)
    (void)session_.fail(Status(Errc::network, "connection to " + session_.where() + " stalled while closing a channel"));
}

std::string SshChannel::describe_command() const {
  std::string c = command_.size() > 200 ? command_.substr(0, 200) + "..." : command_;
  return "`" + c + "` on " + session_.where();
}

void SshChannel::append_stderr(const char* data, std::size_t n) {
  stderr_total_ += n;
  stderr_.append(data, n);
  if (stderr_.size() > 2 * kStderrKeep) stderr_.erase(0, stderr_.size() - kStderrKeep);
}

Status SshChannel::drain_stderr() {
  std::array<char, 16 << 10> buf;
  for (;;) {
    ssize_t n = libssh2_channel_read_ex(channel_, SSH_EXTENDED_DATA_STDERR, buf.data(), buf.size());
    if (n > 0) {
      append_stderr(buf.data(), static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) return Status::Ok();  // nothing now, or end of stream
    if (n != LIBSSH2_ERROR_EAGAIN)
      return session_.fail(Status(Errc::network, "reading stderr of " + describe_command() + ": " + session_.last_error()));
    // This read may have started a window adjustment that is half sent: finish it first.
    if (!(libssh2_session_block_directions(session_.session_) & LIBSSH2_SESSION_BLOCK_OUTBOUND)) return Status::Ok();
    PGM_RETURN_IF_ERROR(session_.wait_socket(kForever));
  }
}

Status SshChannel::wait(Deadline deadline, bool writing) {
  if (!session_.broken_.ok()) return session_.broken_;
  // A half-sent packet: only the call that started it may continue, once the socket allows.
  if (libssh2_session_block_directions(session_.session_) & LIBSSH2_SESSION_BLOCK_OUTBOUND) return session_.wait_socket(kForever);

  // Everything a packet pulled off the socket by the calls below could change for the caller:
  // stdout bytes, the end of stdout, either window, stderr.
  auto observe = [&] {
    unsigned long queued = 0;
    unsigned long read_window = libssh2_channel_window_read_ex(channel_, &queued, nullptr);
    unsigned long write_window = libssh2_channel_window_write_ex(channel_, nullptr);
    auto eof = static_cast<unsigned long>(libssh2_channel_eof(channel_));
    return std::array<unsigned long, 5>{queued, read_window, write_window, eof, stderr_total_};
  };
  const auto before = observe();
  PGM_RETURN_IF_ERROR(drain_stderr());
  // A writer waits for sshd to re-open the window once the command has read its stdin. If the
  // command exited instead, the channel is closed and no window will ever come. (wait_closed
  // only looks once the remote sent EOF; before that it refuses, harmlessly.)
  if (writing && libssh2_channel_wait_closed(channel_) == 0) {
    PGM_RETURN_IF_ERROR(drain_stderr());
    std::string err = trim(stderr_);
    return Status(Errc::io, describe_command() + " exited before reading all its input" + (err.empty() ? std::string() : ": " + err));
  }
  if (observe() != before) return Status::Ok();  // something arrived: retry the call at once
  return session_.wait_socket(deadline);
}

Result<std::size_t> SshChannel::read_once(std::span<std::uint8_t> buf, Deadline deadline) {
  if (!session_.broken_.ok()) return session_.broken_;
  const std::size_t want = std::min(buf.size(), kReadPiece);
  for (;;) {
    if (session_.cancel_.cancelled()) return session_.fail(session_.cancel_.reason());
    ssize_t n = libssh2_channel_read_ex(channel_, 0, reinterpret_cast<char*>(buf.data()), want);
    if (n > 0) return static_cast<std::size_t>(n);
    if (n < 0 && n != LIBSSH2_ERROR_EAGAIN)
      return session_.fail(Status(Errc::network, "reading from " + describe_command() + ": " + session_.last_error()));
    // 0 means end of stream, or (rarely) nothing yet without EAGAIN; eof() tells which, but
    // masks the end while stderr bytes are still queued, so drain those first.
    if (n == 0) {
      PGM_RETURN_IF_ERROR(drain_stderr());
      if (libssh2_channel_eof(channel_) == 1) return std::size_t{0};
    }
    Status waited = wait(deadline);
    if (waited.code() == Errc::timeout) return std::size_t{0};
    PGM_RETURN_IF_ERROR(waited);
  }
}

Result<std::size_t> SshChannel::read_full(std::span<std::uint8_t> buf) {
  std::size_t done = 0;
  while (done < buf.size()) {
    auto n = read_once(buf.subspan(done), kForever);
    if (!n) return n.status();
    if (*n == 0) break;
    done += *n;
  }
  return done;
}

Result<std::size_t> SshChannel::read_some(std::span<std::uint8_t> buf, std::chrono::milliseconds timeout) {
  if (buf.empty()) return std::size_t{0};
  const Deadline deadline = timeout == std::chrono::milliseconds::max() ? kForever : std::chrono::steady_clock::now() + timeout;
  std::size_t done = 0;
  // Take what is already there, up to the buffer, but wait only for the first byte.
  while (done < buf.size()) {
    auto n = read_once(buf.subspan(done), done == 0 ? deadline : Deadline::min());
    if (!n) return n.status();
    if (*n == 0) break;
    done += *n;
  }
  return done;
}

Result<std::size_t> SshChannel::read_some(std::span<std::uint8_t> buf, bool wait_for_data) {
  return read_some(buf, wait_for_data ? std::chrono::milliseconds::max() : std::chrono::milliseconds(0));
}

bool SshChannel::eof() const { return libssh2_channel_eof(channel_) == 1; }

Status SshChannel::write_all(std::span<const std::uint8_t> buf) {
  if (!session_.broken_.ok()) return session_.broken_;
  if (eof_sent_) return Status(Errc::internal, "write after send_eof on " + describe_command());
  std::size_t done = 0;
  while (done < buf.size()) {
    if (session_.cancel_.cancelled()) return session_.fail(session_.cancel_.reason());
    // After EAGAIN libssh2 expects the same buffer again; we pass it unchanged until it moves.
    ssize_t n = libssh2_channel_write_ex(channel_, 0, reinterpret_cast<const char*>(buf.data() + done), buf.size() - done);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && n != LIBSSH2_ERROR_EAGAIN) {
      std::string err = session_.last_error();
      return session_.fail(Status(Errc::network, "writing to " + describe_command() + ": " + err));
    }
    // No window (n == 0 or EAGAIN), or a packet half sent.
    PGM_RETURN_IF_ERROR(wait(kForever, /*writing=*/true));
  }
  return Status::Ok();
}

Status SshChannel::send_eof() {
  if (eof_sent_) return Status::Ok();
  if (!session_.broken_.ok()) return session_.broken_;
  for (;;) {
    if (session_.cancel_.cancelled()) return session_.fail(session_.cancel_.reason());
    int rc = libssh2_channel_send_eof(channel_);
    if (rc == 0) break;
    if (rc != LIBSSH2_ERROR_EAGAIN)
      return session_.fail(Status(Errc::network, "closing the input of " + describe_command() + ": " + session_.last_error()));
    PGM_RETURN_IF_ERROR(wait(kForever));
  }
  eof_sent_ = true;
  return Status::Ok();
}

std::string SshChannel::stderr_text() {
  if (session_.broken_.ok() && !(libssh2_session_block_directions(session_.session_) & LIBSSH2_SESSION_BLOCK_OUTBOUND))
    (void)drain_stderr();
  std::string s = stderr_.size() > kStderrKeep ? stderr_.substr(stderr_.size() - kStderrKeep) : stderr_;
  return trim(std::move(s));
}

Status SshChannel::close() {
  if (closed_) return Status::Ok();
  PGM_RETURN_IF_ERROR(send_eof());
  // The exit status comes with the close, and the close only after all of stdout.
  std::array<std::uint8_t, kReadPiece> sink;
  for (;;) {
    auto n = read_once(sink, kForever);
    if (!n) return n.status();
    if (*n == 0) break;
  }
  for (;;) {
    if (session_.cancel_.cancelled()) return session_.fail(session_.cancel_.reason());
    int rc = libssh2_channel_close(channel_);
    if (rc == 0) rc = libssh2_channel_wait_closed(channel_);
    if (rc == 0) break;
    if (rc != LIBSSH2_ERROR_EAGAIN)
      return session_.fail(Status(Errc::network, "closing " + describe_command() + ": " + session_.last_error()));
    PGM_RETURN_IF_ERROR(session_.wait_socket(kForever));
  }
  (void)drain_stderr();
  closed_ = true;

  char* signal = nullptr;
  std::size_t signal_len = 0;
  libssh2_channel_get_exit_signal(channel_, &signal, &signal_len, nullptr, nullptr, nullptr, nullptr);
  if (signal && signal_len > 0) {
    exit_signal_.assign(signal, signal_len);
    exit_status_ = -1;
  } else {
    exit_status_ = libssh2_channel_get_exit_status(channel_);
  }
  if (signal) libssh2_free(session_.session_, signal);
  return Status::Ok();
}

Status SshChannel::check_exit() {
  PGM_RETURN_IF_ERROR(close());
  if (exit_status_ == 0) return Status::Ok();
  std::string how = exit_signal_.empty() ? "exited with status " + std::to_string(exit_status_) : "was killed by signal " + exit_signal_;
  std::string err = stderr_text();
  return Status(Errc::child_failed, describe_command() + " " + how + (err.empty() ? "" : ": " + err));
}

}  // namespace pgm::transport
