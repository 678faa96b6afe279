// A remote command's stdin, stdout and stderr over one SSH "session" channel.
// Made by SshSession::exec(); used from the session's thread only (see ssh_session.h).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "common/io.h"
#include "pgmigrate/status.h"

typedef struct _LIBSSH2_CHANNEL LIBSSH2_CHANNEL;  // NOLINT: same typedef as <libssh2.h>

namespace pgm::transport {

class SshSession;

class SshChannel final : public ByteReader, public ByteWriter {
 public:
  // Reads stdout until `buf` is full or the remote closes it (then returns fewer bytes).
  Result<std::size_t> read_full(std::span<std::uint8_t> buf) override;
  // Reads what stdout has, up to buf.size(), waiting up to `timeout` for the first byte.
  // Returns 0 at end of stream (then eof() is true) or when nothing came in time.
  Result<std::size_t> read_some(std::span<std::uint8_t> buf, std::chrono::milliseconds timeout);
  // The same, waiting as long as it takes (`wait`) or not at all.
  Result<std::size_t> read_some(std::span<std::uint8_t> buf, bool wait = true);
  // True once the remote closed stdout and every byte of it has been read.
  bool eof() const;

  // Writes all of `buf` to the command's stdin. Stdout that arrives meanwhile is queued in
  // memory: libssh2 re-opens the window whenever it reads (stderr included), so the queue is
  // bounded only by what the command sends. A protocol with replies must read them between
  // writes (read_some with a zero timeout).
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

  using Deadline = std::chrono::steady_clock::time_point;
  // One libssh2 read of stream 0 into buf, waiting for data until `deadline` at most.
  // 0 = end of stream, or nothing by the deadline.
  Result<std::size_t> read_once(std::span<std::uint8_t> buf, Deadline deadline);
  // Reads whatever stderr libssh2 already holds or the socket has, without waiting for more.
  Status drain_stderr();
  // After a call said EAGAIN: finishes a half-sent packet, or reads stderr and, if that changed
  // nothing, waits on the socket until `deadline` (Errc::timeout). A `writing` caller also
  // learns (Errc::io) that the command exited, since no window will open then.
  Status wait(Deadline deadline, bool writing = false);
  void append_stderr(const char* data, std::size_t n);
  std::string describe_command() const;

  SshSession& session_;
  LIBSSH2_CHANNEL* channel_;
  std::string command_;
  std::string stderr_;              // bounded tail
  std::uint64_t stderr_total_ = 0;  // bytes ever read from stderr
  bool eof_sent_ = false;
  bool closed_ = false;
  int exit_status_ = -1;
  std::string exit_signal_;
};

}  // namespace pgm::transport
