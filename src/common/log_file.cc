#include "common/log_file.h"

#include <unistd.h>

#include <cerrno>
#include <ctime>

namespace pgm {
namespace {

constexpr auto kProgressEvery = std::chrono::minutes(1);

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The cookie stream's write: the terminal first, then the file. Called under the stream's lock.
ssize_t write_both(void* cookie, const char* data, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(2, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // a closed terminal must not lose the file's copy
    done += static_cast<std::size_t>(n);
  }
  static_cast<LogFile*>(cookie)->feed(data, size);
  return static_cast<ssize_t>(size);
}

}  // namespace

Status LogFile::install(const std::string& path, std::uint64_t max_bytes, unsigned keep) {
  auto file = RotatingFile::open(path, max_bytes, keep);
  if (!file) return file.status().context("--log-file");
  auto log = std::make_unique<LogFile>(std::move(*file));
  cookie_io_functions_t io{};
  io.write = write_both;
  FILE* stream = ::fopencookie(log.get(), "w", io);
  if (stream == nullptr) return Status(Errc::io, "--log-file: cannot make the stderr stream");
  ::setvbuf(stream, nullptr, _IONBF, 0);
  stderr = stream;  // NOLINT(cppcoreguidelines-pro-type-vararg): glibc's stderr is assignable
  log->write_line("pgmigrate started");
  (void)log.release();  // owned by the stream from here on
  return Status::Ok();
}

void LogFile::feed(const char* data, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) {
    const char c = data[i];
    if (escape_) {
      if (c >= '@' && c <= '~' && c != '[') escape_ = false;
      continue;
    }
    if (c == '\033') {
      escape_ = true;
    } else if (c == '\r') {
      if (!line_.empty()) progress_ = std::move(line_);
      line_.clear();
      const auto now = std::chrono::steady_clock::now();
      if (!progress_.empty() && now - progress_logged_ >= kProgressEvery) {
        progress_logged_ = now;
        write_line(progress_);
      }
    } else if (c == '\n') {
      write_line(line_);
      line_.clear();
    } else {
      line_.push_back(c);
    }
  }
}

void LogFile::write_line(const std::string& line) {
  Status s = file_.append_line(utc_now() + " [" + std::to_string(::getpid()) + "] " + line);
  if (!s.ok() && !reported_failure_) {
    reported_failure_ = true;
    const std::string msg = "pgmigrate: " + s.message() + " (logging to the terminal only from now on)\n";
    (void)!::write(2, msg.data(), msg.size());
  }
}

}  // namespace pgm
