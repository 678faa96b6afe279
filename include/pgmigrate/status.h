// Errors as values. Every fallible call at a module boundary returns a Status or a Result<T>;
// only src/cli/exit.cc turns them into messages and exit codes.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace pgm {

enum class Errc : std::uint8_t {
  ok = 0,
  invalid_argument,  // the user asked for something malformed or impossible
  io,                // a local read/write failed
  corrupt,           // the stream failed validation (checksum, framing, trailer)
  truncated,         // the stream ended early
  child_failed,      // zfs send / zfs recv / a --send-cmd exited badly
  network,           // unreachable host, dropped connection
  auth,              // authentication refused
  host_key,          // unknown or changed host key
  not_found,         // dataset, snapshot, slot, session that does not exist
  exists,            // target that exists and may not be overwritten
  no_space,          // target out of space
  timeout,           // stall watchdog or --timeout
  interrupted,       // a signal asked us to stop
  protocol,          // the far half spoke something we do not understand
  unsupported,       // the local or remote ZFS / Postgres cannot do what was asked
  postgres,          // a libpq or server-side failure
  internal,          // a bug: should never be seen
};

const char* errc_name(Errc code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Errc code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  bool ok() const { return code_ == Errc::ok; }
  explicit operator bool() const { return ok(); }
  Errc code() const { return code_; }
  const std::string& message() const { return message_; }

  // Prefixes the message with context, keeping the code: "reading chunk 3: <message>".
  Status context(const std::string& what) const {
    if (ok()) return *this;
    return {code_, what + ": " + message_};
  }

 private:
  Errc code_ = Errc::ok;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {}  // NOLINT(google-explicit-constructor)
  Result(Errc code, std::string message) : v_(Status(code, std::move(message))) {}

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace pgm

#define PGM_RETURN_IF_ERROR(expr)              \
  do {                                         \
    ::pgm::Status pgm_status_ = (expr);        \
    if (!pgm_status_.ok()) return pgm_status_; \
  } while (0)

// Declares `decl` with a Result's value, or returns the Result's error from the enclosing
// function: PGM_ASSIGN_OR_RETURN(auto spec, resolve(settings)). The expression is evaluated once.
#define PGM_ASSIGN_OR_RETURN(decl, ...) PGM_ASSIGN_OR_RETURN_IMPL_(PGM_CONCAT_(pgm_result_, __LINE__), decl, __VA_ARGS__)
#define PGM_CONCAT_INNER_(a, b) a##b
#define PGM_CONCAT_(a, b) PGM_CONCAT_INNER_(a, b)
#define PGM_ASSIGN_OR_RETURN_IMPL_(tmp, decl, ...) \
  auto tmp = (__VA_ARGS__);                        \
  if (!tmp) return tmp.status();                   \
  decl = std::move(*tmp)  // NOLINT(bugprone-macro-parentheses): `decl` is a declaration
