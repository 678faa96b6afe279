#include "transport/control.h"
#include "common/errno_text.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/fd.h"

namespace pgm::transport {

using nlohmann::json;

Result<json> parse_control_line(std::string_view line) {
  if (line.size() > kMaxControlLine) return Status(Errc::protocol, "control message too long");
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status(Errc::protocol, "malformed control message from the far half");
  auto it = j.find("type");
  if (it == j.end() || !it->is_string()) return Status(Errc::protocol, "control message without a type");
  return j;
}

Status LineSplitter::append(std::string_view bytes) {
  buf_.append(bytes);
  std::size_t start = 0;
  for (;;) {
    std::size_t nl = buf_.find('\n', start);
    if (nl == std::string::npos) break;
    lines_.push_back(buf_.substr(start, nl - start));
    start = nl + 1;
  }
  buf_.erase(0, start);
  if (buf_.size() > kMaxControlLine) return Status(Errc::protocol, "control line longer than 64 KiB");
  return Status::Ok();
}

std::optional<std::string> LineSplitter::next_line() {
  if (lines_.empty()) return std::nullopt;
  std::string l = std::move(lines_.front());
  lines_.pop_front();
  return l;
}

Result<std::size_t> FdControlIo::read_some(std::span<std::uint8_t> buf, std::chrono::milliseconds timeout) {
  if (eof_) return std::size_t{0};
  pollfd fds[2] = {{in_, POLLIN, 0}, {cancel_.fd(), POLLIN, 0}};
  int r = ::poll(fds, 2, static_cast<int>(timeout.count()));
  if (r < 0 && errno != EINTR) return Status(Errc::io, std::string("poll: ") + errno_text(errno));
  if (fds[1].revents) return cancel_.reason();
  if (r <= 0 || fds[0].revents == 0) return std::size_t{0};
  ssize_t n = ::read(in_, buf.data(), buf.size());
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return std::size_t{0};
    return Status(Errc::io, std::string("read: ") + errno_text(errno));
  }
  if (n == 0) eof_ = true;
  return static_cast<std::size_t>(n);
}

Status FdControlIo::write_all(std::span<const std::uint8_t> buf) { return write_full(out_, buf, write_token_); }

Status ControlChannel::send(const json& message) {
  std::string line = message.dump();
  line.push_back('\n');
  Status s = io_.write_all({reinterpret_cast<const std::uint8_t*>(line.data()), line.size()});
  if (!s.ok() && s.code() != Errc::interrupted) lost_ = true;
  return s;
}

Result<std::optional<json>> ControlChannel::receive(std::chrono::milliseconds timeout) {
  for (;;) {
    if (auto line = lines_.next_line()) {
      auto j = parse_control_line(*line);
      if (!j) return j.status();
      return std::optional<json>(std::move(*j));
    }
    if (io_.eof()) {
      lost_ = true;
      return Status(Errc::network, "control channel closed by the far half");
    }
    std::uint8_t buf[4096];
    auto n = io_.read_some(buf, timeout);
    if (!n) {
      if (n.status().code() != Errc::interrupted) lost_ = true;
      return n.status();
    }
    if (*n == 0) {
      if (io_.eof()) {
        lost_ = true;
        return Status(Errc::network, "control channel closed by the far half");
      }
      return std::optional<json>();
    }
    PGM_RETURN_IF_ERROR(lines_.append({reinterpret_cast<const char*>(buf), *n}));
  }
}

Result<json> ControlChannel::expect(const std::string& type, std::chrono::milliseconds timeout, const CancelToken& cancel) {
  return expect_either(type, type, timeout, cancel);
}

Result<json> ControlChannel::expect_either(const std::string& type, const std::string& other, std::chrono::milliseconds timeout,
                                           const CancelToken& cancel) {
  return expect_one_of({type, other}, timeout, cancel);
}

Result<json> ControlChannel::expect_one_of(std::initializer_list<std::string_view> types, std::chrono::milliseconds timeout,
                                           const CancelToken& cancel) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cancel.cancelled()) return cancel.reason();
    auto m = receive(std::chrono::milliseconds(200));
    if (!m) return m.status();
    if (!*m) continue;
    const json& msg = **m;
    if (msg["type"] == "error") return status_from_message(msg);
    for (std::string_view t : types)
      if (msg["type"] == t) return msg;
  }
  return Status(Errc::timeout, "the far half did not answer (waiting for '" + std::string(*types.begin()) + "')");
}

namespace {
struct CodeName {
  Errc code;
  const char* name;
};
constexpr CodeName kCodes[] = {
    {Errc::invalid_argument, "invalid_argument"},
    {Errc::io, "io"},
    {Errc::corrupt, "corrupt"},
    {Errc::truncated, "truncated"},
    {Errc::child_failed, "child_failed"},
    {Errc::network, "network"},
    {Errc::auth, "auth"},
    {Errc::host_key, "host_key"},
    {Errc::not_found, "not_found"},
    {Errc::exists, "exists"},
    {Errc::no_space, "no_space"},
    {Errc::timeout, "timeout"},
    {Errc::interrupted, "interrupted"},
    {Errc::protocol, "protocol"},
    {Errc::unsupported, "unsupported"},
    {Errc::postgres, "postgres"},
    {Errc::internal, "internal"},
};
}  // namespace

std::string json_string(const json& m, const char* key, const std::string& fallback) {
  auto it = m.find(key);
  return it != m.end() && it->is_string() ? it->get<std::string>() : fallback;
}

bool json_bool(const json& m, const char* key, bool fallback) {
  return m.is_object() && m.contains(key) && m[key].is_boolean() ? m[key].get<bool>() : fallback;
}

std::uint64_t json_u64(const json& m, const char* key, std::uint64_t fallback) {
  auto it = m.find(key);
  return it != m.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : fallback;
}

Status status_from_message(const json& m) {
  std::string code = m.contains("code") && m["code"].is_string() ? m["code"].get<std::string>() : "internal";
  std::string message = m.contains("message") && m["message"].is_string() ? m["message"].get<std::string>() : "unspecified error";
  for (const auto& c : kCodes)
    if (code == c.name) return Status(c.code, message);
  return Status(Errc::protocol, message);
}

json message_from_status(const Status& s) {
  const char* name = "internal";
  for (const auto& c : kCodes)
    if (c.code == s.code()) name = c.name;
  return json{{"type", "error"}, {"code", name}, {"message", s.message()}};
}

std::string header_to_hex(const stream::StreamHeader& header) {
  std::string bytes = stream::encode_header(header);
  return stream::to_hex({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
}

Result<stream::StreamHeader> header_from_hex(const std::string& hex) {
  auto bytes = stream::from_hex(hex, stream::kHeaderFixedSize + stream::kMaxNameLength + 4);
  if (!bytes) return bytes.status();
  return stream::decode_header(*bytes);
}

json trailer_to_json(const stream::Trailer& t) {
  return json{{"type", "trailer"}, {"total_bytes", t.total_bytes}, {"chunk_count", t.chunk_count}, {"digest", stream::to_hex(t.digest)}};
}

Result<stream::Trailer> trailer_from_json(const json& m) {
  if (!m.contains("total_bytes") || !m["total_bytes"].is_number_unsigned() || !m.contains("chunk_count") ||
      !m["chunk_count"].is_number_unsigned() || !m.contains("digest") || !m["digest"].is_string())
    return Status(Errc::protocol, "malformed trailer message");
  auto d = stream::from_hex(m["digest"].get<std::string>(), 16);
  if (!d || d->size() != 16) return Status(Errc::protocol, "malformed trailer digest");
  stream::Trailer t;
  t.total_bytes = m["total_bytes"].get<std::uint64_t>();
  t.chunk_count = m["chunk_count"].get<std::uint64_t>();
  std::copy(d->begin(), d->end(), t.digest.begin());
  return t;
}

json resume_to_json(const ResumePoint& point) {
  return json{
      {"header", header_to_hex(point.header)}, {"chunks", point.chunks}, {"bytes", point.bytes}, {"digest", stream::to_hex(point.digest)}};
}

Result<ResumePoint> resume_from_json(const json& value) {
  if (!value.is_object() || !value.contains("header") || !value["header"].is_string() || !value.contains("chunks") ||
      !value["chunks"].is_number_unsigned() || !value.contains("digest") || !value["digest"].is_string())
    return Status(Errc::protocol, "malformed resume point");
  ResumePoint p;
  auto h = header_from_hex(value["header"].get<std::string>());
  if (!h) return h.status();
  p.header = *h;
  p.chunks = value["chunks"].get<std::uint64_t>();
  p.bytes = json_u64(value, "bytes", 0);
  auto d = stream::from_hex(value["digest"].get<std::string>(), 16);
  if (!d || d->size() != 16) return Status(Errc::protocol, "malformed resume digest");
  std::copy(d->begin(), d->end(), p.digest.begin());
  return p;
}

}  // namespace pgm::transport
