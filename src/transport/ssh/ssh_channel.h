// A remote command's stdin, stdout and stderr over one SSH "session" channel.
// Made by SshSession::exec(); used from the session's thread only (see ssh_session.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "common/status.h"
#include "transport/byte_stream.h"

typedef struct _LIBSSH2_CHANNEL LIBSSH2_CHANNEL;  // NOLINT: same typedef as <libssh2.h>

namespace pgm::transport {

class SshSession;

class SshChannel final : public ByteReader, public ByteWriter {
 public:
  // Reads stdout until `buf` is full or the remote closes it (then returns fewer bytes).
  Result<std::size_t> read_full(std::span<std::uint8_t> buf) override;
  // Reads what stdout has, up to buf.size(). With `wait`, blocks until at least one byte or end
  // of stream; without, never waits for data. Returns 0 at end of stream (see eof()) or when
  // nothing is there yet.
  Result<std::size_t> read_some(std::span<std::uint8_t> buf, bool wait = true);
  // True once the remote closed stdout and every byte of it has been read.
  bool eof();

  // Writes all of `buf` to the command's stdin. Stdout that arrives meanwhile stays queued in
  // libssh2 (up to the window given to exec()); a protocol that expects replies while it writes
  // must read them between writes, or the remote may stall on a full window.
  Status write_all(std::span<const std::uint8_t> buf) override;
  // Closes the command's stdin (it reads EOF). Later writes fail.
  Status send_eof();

  // Up to the last 16 KiB the command wrote to stderr, trimmed. Stderr is read whenever a call
  // on this channel would wait anyway, so a chatty command never stalls the channel.
  std::string stderr_text();

  // Sends EOF if not yet sent, discards stdout until the remote closes it, and waits for the
  // command's exit. Idempotent. After it: exit_status(), exit_signal(), check_exit().
  Status close();
  // The command's exit status, or -1 if it has not exited or died of a signal.
  int exit_status() const { return exit_status_; }
  // The signal name that killed it ("KILL"), or empty.
  const std::string& exit_signal() const { return exit_signal_; }
  // Ok if the command exited 0; else Errc::child_failed naming the command, host:port, status
  // and the stderr tail.
  Status check_exit();

  // Frees the channel without waiting long; the session must still exist.
  ~SshChannel() override;
  SshChannel(const SshChannel&) = delete;
  SshChannel& operator=(const SshChannel&) = delete;

 private:
  friend class SshSession;
  SshChannel(SshSession& session, LIBSSH2_CHANNEL* channel, std::string command);

  // One libssh2 read of stream 0 into buf; waits for data only if `wait`. 0 = EOF or nothing.
  Result<std::size_t> read_once(std::span<std::uint8_t> buf, bool wait);
  // Reads whatever stderr libssh2 already holds or the socket has, without waiting for more.
  Status drain_stderr();
  // Waits on the socket (see SshSession::wait_socket) after draining stderr, when that is safe.
  Status wait();
  void append_stderr(const char* data, std::size_t n);
  std::string describe_command() const;

  SshSession& session_;
  LIBSSH2_CHANNEL* channel_;
  std::string command_;
  std::string stderr_;  // bounded tail
  bool eof_sent_ = false;
  bool closed_ = false;
  int exit_status_ = -1;
  std::string exit_signal_;
};

}  // namespace pgm::transport
