// The control channel between the two halves of a remote transfer: one JSON object per
// line, each with a "type". It carries the stream header, the receiver's window, chunk
// acknowledgements, the trailer and the outcome; chunk data never travels here.
// docs/stream-format.md lists the messages.
#pragma once

#include <chrono>
#include <deque>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/cancel.h"
#include "pgmigrate/status.h"
#include "stream/format.h"
#include "transport/channel.h"

namespace pgm::transport {

inline constexpr std::size_t kMaxControlLine = std::size_t{64} * 1024;

// Parses one line: a JSON object with a string "type". Anything else is Errc::protocol.
Result<nlohmann::json> parse_control_line(std::string_view line);

// Splits incoming bytes into lines, refusing lines over kMaxControlLine.
class LineSplitter {
 public:
  Status append(std::string_view bytes);
  std::optional<std::string> next_line();

 private:
  std::string buf_;
  std::deque<std::string> lines_;
};

// Bytes in and out for a control channel: a Channel (the local half) or the stdin/stdout
// fds of the remote half.
class ControlIo {
 public:
  virtual ~ControlIo() = default;
  virtual Result<std::size_t> read_some(std::span<std::uint8_t> buf, std::chrono::milliseconds timeout) = 0;
  virtual bool eof() const = 0;
  virtual Status write_all(std::span<const std::uint8_t> buf) = 0;
};

class ChannelControlIo final : public ControlIo {
 public:
  explicit ChannelControlIo(Channel& ch) : ch_(ch) {}
  Result<std::size_t> read_some(std::span<std::uint8_t> buf, std::chrono::milliseconds timeout) override {
    return ch_.read_some(buf, timeout);
  }
  bool eof() const override { return ch_.eof(); }
  Status write_all(std::span<const std::uint8_t> buf) override { return ch_.write_all(buf); }

 private:
  Channel& ch_;
};

class FdControlIo final : public ControlIo {
 public:
  FdControlIo(int in_fd, int out_fd, const CancelToken& cancel) : in_(in_fd), out_(out_fd), cancel_(cancel) {}
  Result<std::size_t> read_some(std::span<std::uint8_t> buf, std::chrono::milliseconds timeout) override;
  bool eof() const override { return eof_; }
  Status write_all(std::span<const std::uint8_t> buf) override;

 private:
  int in_, out_;
  const CancelToken& cancel_;
  // Writes never use the run's token: the last message after a failure (the error itself)
  // must still go out once the run is cancelled.
  CancelToken write_token_;
  bool eof_ = false;
};

class ControlChannel {
 public:
  explicit ControlChannel(ControlIo& io) : io_(io) {}
  Status send(const nlohmann::json& message);
  // The next message, waiting at most `timeout`; nullopt on timeout. The far end closing
  // the channel is Errc::network ("control channel closed").
  Result<std::optional<nlohmann::json>> receive(std::chrono::milliseconds timeout);
  // Waits for a message of type `type` (an "error" message becomes its Status).
  Result<nlohmann::json> expect(const std::string& type, std::chrono::milliseconds timeout, const CancelToken& cancel);
  // The same for the first message of either type.
  Result<nlohmann::json> expect_either(const std::string& type, const std::string& other, std::chrono::milliseconds timeout,
                                       const CancelToken& cancel);
  // The same for the first message of any of `types`.
  Result<nlohmann::json> expect_one_of(std::initializer_list<std::string_view> types, std::chrono::milliseconds timeout,
                                       const CancelToken& cancel);
  // The connection itself failed (closed, a read or write error), as opposed to the far half
  // answering with an error: a sender retries the first and reports the second.
  bool lost() const { return lost_; }

 private:
  ControlIo& io_;
  LineSplitter lines_;
  bool lost_ = false;
};

// Typed field access that never throws on hostile input: a missing or mistyped field
// yields the fallback.
std::string json_string(const nlohmann::json& m, const char* key, const std::string& fallback = "");
std::uint64_t json_u64(const nlohmann::json& m, const char* key, std::uint64_t fallback);
bool json_bool(const nlohmann::json& m, const char* key, bool fallback);

// The error a far half reported ({"type":"error","code":...,"message":...}) as a Status.
Status status_from_message(const nlohmann::json& message);
nlohmann::json message_from_status(const Status& status);

std::string header_to_hex(const stream::StreamHeader& header);
Result<stream::StreamHeader> header_from_hex(const std::string& hex);
nlohmann::json trailer_to_json(const stream::Trailer& trailer);
Result<stream::Trailer> trailer_from_json(const nlohmann::json& message);

// A receiver that kept a transfer alive for its sender tells the sender that came back
// where to go on: the stream it is receiving (the session's header), how many chunks it
// already took, and the digest of those chunks (StreamDigest over seqs 0..chunks-1).
struct ResumePoint {
  stream::StreamHeader header;
  std::uint64_t chunks = 0;
  std::uint64_t bytes = 0;
  stream::Digest digest{};
};
nlohmann::json resume_to_json(const ResumePoint& point);
Result<ResumePoint> resume_from_json(const nlohmann::json& value);

}  // namespace pgm::transport
