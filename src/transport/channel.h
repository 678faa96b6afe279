// A bidirectional byte channel to a command running elsewhere: an SSH exec channel, or a
// local child process with pipes (used by tests of the lane protocol and by `--ssh-cmd`-less
// local runs). The transfer code sees only this interface.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/io.h"
#include "common/process.h"

namespace pgm::transport {

class Channel : public ByteReader, public ByteWriter {
 public:
  // Reads what is available, waiting at most `timeout`. Returns 0 on timeout; at end of
  // stream returns 0 and eof() becomes true.
  virtual Result<std::size_t> read_some(std::span<std::uint8_t> buf, std::chrono::milliseconds timeout) = 0;
  virtual bool eof() const = 0;
  // Tells the far command there is no more input (its stdin reaches EOF).
  virtual Status send_eof() = 0;
  // Waits for the far command to end; returns its exit status (-1 if unknown).
  virtual Result<int> wait_exit() = 0;
  // What the far command wrote on stderr (bounded).
  virtual std::string stderr_text() = 0;
};

// Opens channels: one per command. Implementations decide how (SSH session, local spawn).
class Connector {
 public:
  virtual ~Connector() = default;
  virtual Result<std::unique_ptr<Channel>> exec(const std::string& command_line, const CancelToken& cancel) = 0;
  // "user@host:port" for messages.
  virtual std::string describe() const = 0;
};

// Runs the command with /bin/sh -c on this machine.
class LocalConnector final : public Connector {
 public:
  Result<std::unique_ptr<Channel>> exec(const std::string& command_line, const CancelToken& cancel) override;
  std::string describe() const override { return "localhost"; }
};

}  // namespace pgm::transport
