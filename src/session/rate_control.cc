#include "session/rate_control.h"

#include <unistd.h>

#include <cstdlib>

#include "journal/journal.h"

namespace pgm::session {

std::string rate_request_path(const std::string& state_dir, const std::string& session_hex) {
  return state_dir + "/" + session_hex + ".rate";
}

Status request_rate(const std::string& state_dir, const std::string& session_hex, std::uint64_t bytes_per_second) {
  return journal::write_file_atomic(rate_request_path(state_dir, session_hex), std::to_string(bytes_per_second) + "\n");
}

RateRequests::RateRequests(const std::string& session_hex) {
  const std::string dir = journal::state_dir_path("");
  if (!dir.empty()) path_ = rate_request_path(dir, session_hex);
}

RateRequests::~RateRequests() {
  if (!path_.empty()) (void)::unlink(path_.c_str());
}

std::optional<std::uint64_t> RateRequests::poll() {
  const auto now = std::chrono::steady_clock::now();
  if (path_.empty() || now < next_look_) return std::nullopt;
  next_look_ = now + std::chrono::seconds(1);
  auto text = journal::read_file(path_);
  if (!text) return std::nullopt;  // no request (yet)
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text->c_str(), &end, 10);
  if (end == text->c_str() || (*end != '\n' && *end != '\0')) return std::nullopt;  // not ours: ignore it
  if (last_ && *last_ == value) return std::nullopt;
  last_ = value;
  return last_;
}

}  // namespace pgm::session
