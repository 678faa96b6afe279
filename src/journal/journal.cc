#include "journal/journal.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "common/errno_text.h"

namespace pgm::journal {
namespace {

using nlohmann::json;

constexpr std::size_t kEntrySize = 12;

Status sys_error(const std::string& what) { return Status(Errc::io, what + ": " + errno_text(errno)); }

std::string sums_path_for(const std::string& json_path) {
  return json_path.substr(0, json_path.size() - std::string(".json").size()) + ".sums";
}

}  // namespace

Status make_private_dir(const std::string& dir) {
  // Create parents as needed (e.g. ~/.local/state), only the last one private.
  for (std::size_t pos = 1; pos != std::string::npos;) {
    pos = dir.find('/', pos + 1);
    std::string part = dir.substr(0, pos);
    if (::mkdir(part.c_str(), pos == std::string::npos ? 0700 : 0755) != 0 && errno != EEXIST) return sys_error("creating " + part);
  }
  // Checked through a descriptor opened without following a symlink, so that what is checked
  // (and made private) is the directory itself, not whatever a link planted there points to.
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) {
    struct stat lst {};
    if (::lstat(dir.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode))
      return Status(Errc::io, dir + " is a symlink; refusing to keep transfer state there");
    if (errno == ENOTDIR) return Status(Errc::io, dir + " is not a directory");
    return sys_error("opening " + dir);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return sys_error("checking " + dir);
  if (!S_ISDIR(st.st_mode)) return Status(Errc::io, dir + " is not a directory");
  if (st.st_uid != ::getuid()) return Status(Errc::io, dir + " belongs to another user; refusing to keep transfer state there");
  if ((st.st_mode & 077) != 0 && ::fchmod(fd.get(), 0700) != 0) return sys_error("making " + dir + " private");
  return Status::Ok();
}

Result<std::string> choose_state_dir(const std::string& override_dir) {
  if (!override_dir.empty()) return override_dir;
  // NOLINTBEGIN(concurrency-mt-unsafe): read at start-up, before threads
  if (const char* env = std::getenv("PGMIGRATE_STATE_DIR"); env && *env) return std::string(env);
  if (::getuid() == 0) return std::string("/var/lib/pgmigrate");
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg && *xdg) return std::string(xdg) + "/pgmigrate";
  const char* home = std::getenv("HOME");
  // NOLINTEND(concurrency-mt-unsafe)
  if (home == nullptr || *home == '\0')
    return Status(Errc::invalid_argument, "cannot choose a state directory: HOME is not set; pass --state-dir or set PGMIGRATE_STATE_DIR");
  return std::string(home) + "/.local/state/pgmigrate";
}

std::string state_dir_path(const std::string& override_dir) {
  auto dir = choose_state_dir(override_dir);
  return dir ? *dir : std::string();
}

Result<std::string> state_dir(const std::string& override_dir) {
  auto dir = choose_state_dir(override_dir);
  if (!dir) return dir.status();
  PGM_RETURN_IF_ERROR(make_private_dir(*dir));
  return dir;
}

Result<Record> parse_record(const std::string& json_text) {
  json j = json::parse(json_text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status(Errc::corrupt, "not a journal record");
  Record r;
  auto str = [&](const char* k) { return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string(); };
  auto u64 = [&](const char* k) -> std::uint64_t { return j.contains(k) && j[k].is_number_unsigned() ? j[k].get<std::uint64_t>() : 0; };
  auto dbl = [&](const char* k) { return j.contains(k) && j[k].is_number() ? j[k].get<double>() : 0.0; };
  r.session = str("session");
  r.role = str("role");
  r.state = str("state");
  r.target = str("target");
  r.snapshot = str("snapshot");
  r.snapshot_guid = u64("snapshot_guid");
  r.chunk_size = static_cast<std::uint32_t>(u64("chunk_size"));
  r.chunks = u64("chunks");
  r.bytes = u64("bytes");
  r.estimate = u64("estimate");
  r.rate = dbl("rate");
  r.rate_limit = u64("rate_limit");
  r.resumes = u64("resumes");
  r.pid = j.contains("pid") && j["pid"].is_number_integer() ? j["pid"].get<int>() : 0;
  r.pid_start = u64("pid_start");
  r.boot_id = str("boot_id");
  r.socket = str("socket");
  r.note = str("note");
  r.started = dbl("started");
  r.updated = dbl("updated");
  if (r.session.empty() || r.role.empty()) return Status(Errc::corrupt, "journal record without a session or role");
  return r;
}

std::string format_record(const Record& r) {
  json j{{"session", r.session},
         {"role", r.role},
         {"state", r.state},
         {"target", r.target},

         {"snapshot", r.snapshot},
         {"snapshot_guid", r.snapshot_guid},
         {"chunk_size", r.chunk_size},
         {"chunks", r.chunks},
         {"bytes", r.bytes},
         {"estimate", r.estimate},
         {"rate", r.rate},
         {"rate_limit", r.rate_limit},
         {"resumes", r.resumes},
         {"pid", r.pid},
         {"pid_start", r.pid_start},
         {"boot_id", r.boot_id},
         {"socket", r.socket},
         {"note", r.note},
         {"started", r.started},
         {"updated", r.updated}};
  return j.dump(2) + "\n";
}

namespace {

// The fields of /proc/PID/stat after the command name (which may hold spaces and parentheses):
// [0] is field 3 (state), [19] field 22 (starttime). Empty if there is no such process.
std::vector<std::string> stat_fields(int pid) {
  std::vector<std::string> out;
  if (pid <= 0) return out;
  auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return out;
  const std::size_t paren = stat->rfind(')');
  if (paren == std::string::npos) return out;
  std::istringstream in(stat->substr(paren + 1));
  for (std::string f; in >> f;) out.push_back(f);
  return out;
}

bool is_zombie(const std::vector<std::string>& fields) { return !fields.empty() && fields[0] == "Z"; }

std::uint64_t start_ticks_of(const std::vector<std::string>& fields) {
  if (fields.size() < 20) return 0;
  return std::strtoull(fields[19].c_str(), nullptr, 10);
}

// The record's identity matches the process that has its pid now (alive, not a zombie).
bool identity_matches(const Record& r) {
  if (r.pid <= 0) return false;
  // Another boot: whatever has this pid now is another process, however its start time reads.
  if (boot_id() != r.boot_id) return false;
  auto fields = stat_fields(r.pid);
  return !fields.empty() && !is_zombie(fields) && start_ticks_of(fields) == r.pid_start;
}

bool has_identity(const Record& r) { return r.pid_start != 0 && !r.boot_id.empty(); }

}  // namespace

std::uint64_t process_start_ticks(int pid) { return start_ticks_of(stat_fields(pid)); }

std::string boot_id() {
  auto text = read_file("/proc/sys/kernel/random/boot_id");
  if (!text) return {};
  std::string id = *text;
  while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
  return id;
}

bool process_alive(int pid) {
  if (pid <= 0 || (::kill(pid, 0) != 0 && errno != EPERM)) return false;
  // A process killed a moment ago stays a zombie until its parent (sshd) reaps it: not alive.
  auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  const std::size_t paren = stat->rfind(')');
  return paren == std::string::npos || paren + 2 >= stat->size() || (*stat)[paren + 2] != 'Z';
}

bool process_alive(const Record& r) { return has_identity(r) ? identity_matches(r) : process_alive(r.pid); }

namespace {

// SIGTERM to the record's process only if it is still that process. Through a pidfd where the
// kernel has them: the descriptor pins the process it was opened for, so a check after
// opening it cannot pass for one process and the signal reach another (a pid reused between
// the two).
Status signal_if_same(const Record& r) {
#if defined(SYS_pidfd_open) && defined(SYS_pidfd_send_signal)
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, r.pid, 0)));
  if (pidfd.valid()) {
    if (!identity_matches(r)) return Status::Ok();
    if (::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGTERM, nullptr, 0) != 0 && errno != ESRCH)
      return sys_error("stopping pid " + std::to_string(r.pid));
    return Status::Ok();
  }
  if (errno == ESRCH) return Status::Ok();
#endif
  if (!identity_matches(r)) return Status::Ok();
  if (::kill(r.pid, SIGTERM) != 0 && errno != ESRCH) return sys_error("stopping pid " + std::to_string(r.pid));
  return Status::Ok();
}

// Waits for another process to exit. No token in reach (its callers stop another run: abort,
// a migration taking over), and the wait is bounded by `timeout`: a plain sleep between looks.
template <typename Alive>
Status wait_gone(int pid, std::chrono::seconds timeout, Alive alive) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (alive()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return Status(Errc::timeout, "pid " + std::to_string(pid) + " did not stop within " + std::to_string(timeout.count()) + "s");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Status::Ok();
}

}  // namespace

Status stop_process(const Record& r, std::chrono::seconds timeout) {
  if (!has_identity(r)) return stop_process(r.pid, timeout);
  if (!identity_matches(r)) return Status::Ok();
  PGM_RETURN_IF_ERROR(signal_if_same(r));
  return wait_gone(r.pid, timeout, [&r] { return identity_matches(r); });
}

Status stop_process(int pid, std::chrono::seconds timeout) {
  if (!process_alive(pid)) return Status::Ok();
  if (::kill(pid, SIGTERM) != 0 && errno != ESRCH) return sys_error("stopping pid " + std::to_string(pid));
  return wait_gone(pid, timeout, [pid] { return process_alive(pid); });
}

double unix_now() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

std::vector<std::string> json_files(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {  // NOLINT(concurrency-mt-unsafe): one directory stream per call
    std::string name = e->d_name;
    if (name.size() > 5 && name.substr(name.size() - 5) == ".json") out.push_back(std::string(dir).append("/").append(name));
  }
  ::closedir(d);
  return out;
}

Result<Journal> Journal::create(const std::string& dir, const Record& record) {
  Journal j;
  j.mu_ = std::make_unique<std::mutex>();
  j.json_path_ = dir + "/" + record.session + ".json";
  j.sums_path_ = sums_path_for(j.json_path_);
  int fd = ::open(j.sums_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return sys_error("creating " + j.sums_path_);
  j.sums_ = ::fdopen(fd, "w");
  if (j.sums_ == nullptr) {
    ::close(fd);
    return sys_error("opening " + j.sums_path_);
  }
  j.pid_ = record.pid;
  if (record.pid == static_cast<int>(::getpid())) {
    j.pid_start_ = record.pid_start != 0 ? record.pid_start : process_start_ticks(record.pid);
    j.boot_id_ = !record.boot_id.empty() ? record.boot_id : boot_id();
  }
  PGM_RETURN_IF_ERROR(j.save(record));
  return j;
}

Journal::Journal(Journal&& o) noexcept { *this = std::move(o); }

Journal& Journal::operator=(Journal&& o) noexcept {
  if (this != &o) {
    if (sums_ != nullptr) std::fclose(sums_);
    json_path_ = std::move(o.json_path_);
    sums_path_ = std::move(o.sums_path_);
    mu_ = std::move(o.mu_);
    sums_ = o.sums_;
    entries_ = o.entries_;
    pid_ = o.pid_;
    pid_start_ = o.pid_start_;
    boot_id_ = std::move(o.boot_id_);
    o.sums_ = nullptr;
    o.json_path_.clear();
  }
  return *this;
}

Journal::~Journal() {
  if (sums_ != nullptr) std::fclose(sums_);
}

Status Journal::save(const Record& record) {
  if (json_path_.empty()) return Status::Ok();
  // Callers rebuild the record from their own fields; keep the identity create() found.
  if (record.pid == pid_ && record.pid_start == 0 && pid_start_ != 0) {
    Record with_id = record;
    with_id.pid_start = pid_start_;
    with_id.boot_id = boot_id_;
    return write_file_atomic(json_path_, format_record(with_id));
  }
  return write_file_atomic(json_path_, format_record(record));
}

void Journal::add_chunk(std::uint32_t raw_len, std::uint64_t checksum) {
  std::lock_guard<std::mutex> lock(*mu_);
  if (sums_ == nullptr) return;
  std::array<std::uint8_t, kEntrySize> e{};
  for (int i = 0; i < 4; ++i) e[i] = static_cast<std::uint8_t>(raw_len >> (8 * i));
  for (int i = 0; i < 8; ++i) e[4 + i] = static_cast<std::uint8_t>(checksum >> (8 * i));
  if (std::fwrite(e.data(), 1, e.size(), sums_) == e.size()) ++entries_;
}

Status Journal::flush() {
  std::lock_guard<std::mutex> lock(*mu_);
  if (sums_ == nullptr) return Status::Ok();
  if (std::fflush(sums_) != 0) return sys_error("writing " + sums_path_);
  return Status::Ok();
}

Result<stream::Digest> Journal::prefix_digest(std::uint64_t count) {
  PGM_RETURN_IF_ERROR(flush());
  return sums_prefix_digest(sums_path_, count);
}

Status Journal::remove() {
  if (json_path_.empty()) return Status::Ok();
  {
    std::lock_guard<std::mutex> lock(*mu_);
    if (sums_ != nullptr) std::fclose(sums_);
    sums_ = nullptr;
  }
  Status s = remove_files(json_path_);
  json_path_.clear();
  return s;
}

Result<stream::Digest> sums_prefix_digest(const std::string& sums_path, std::uint64_t count) {
  std::ifstream in(sums_path, std::ios::binary);
  if (!in) return Status(Errc::not_found, "cannot read " + sums_path);
  stream::StreamDigest digest;
  std::array<char, kEntrySize> e{};
  for (std::uint64_t seq = 0; seq < count; ++seq) {
    if (!in.read(e.data(), e.size()))
      return Status(Errc::corrupt, sums_path + " holds " + std::to_string(seq) + " chunk checksums, fewer than the " +
                                       std::to_string(count) + " chunks delivered");
    std::uint32_t raw_len = 0;
    std::uint64_t checksum = 0;
    for (int i = 0; i < 4; ++i) raw_len |= static_cast<std::uint32_t>(static_cast<std::uint8_t>(e[i])) << (8 * i);
    for (int i = 0; i < 8; ++i) checksum |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(e[4 + i])) << (8 * i);
    digest.add(seq, raw_len, checksum);
  }
  return digest.finish();
}

Status remove_files(const std::string& json_path) {
  Status s;
  std::vector<std::string> paths = {json_path, sums_path_for(json_path)};
  // A crash inside write_file_atomic leaves its temporary file (<name>.tmp.XXXXXX) behind.
  const std::size_t slash = json_path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : json_path.substr(0, slash);
  const std::string prefix = json_path.substr(slash == std::string::npos ? 0 : slash + 1) + ".tmp.";
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {  // NOLINT(concurrency-mt-unsafe): one directory stream per call
      const std::string name = e->d_name;
      if (name.rfind(prefix, 0) == 0) paths.push_back(std::string(dir).append("/").append(name));
    }
    ::closedir(d);
  }
  for (const std::string& p : paths)
    if (::unlink(p.c_str()) != 0 && errno != ENOENT && s.ok()) s = sys_error("removing " + p);
  return s;
}

std::vector<Listed> list(const std::string& dir) {
  std::vector<Listed> out;
  for (const auto& path : json_files(dir)) {
    Listed l;
    l.path = path;
    auto text = read_file(path);
    auto r = text ? parse_record(*text) : Result<Record>(text.status());
    if (r) {
      l.record = *r;
    } else {
      const std::string name = path.substr(path.rfind('/') + 1);
      l.record.session = name.substr(0, name.size() - 5);
      l.record.state = "failed";
      l.record.note = "unreadable journal: " + r.status().message();
    }
    l.alive = process_alive(l.record);
    out.push_back(std::move(l));
  }
  std::sort(out.begin(), out.end(), [](const Listed& a, const Listed& b) { return a.record.started < b.record.started; });
  return out;
}

std::optional<Listed> find_receiver(const std::string& dir, const std::string& target) {
  for (auto& l : list(dir))
    if (l.alive && l.record.role == "receive" && l.record.target == target && l.record.state != "done") return l;
  return std::nullopt;
}

Result<TargetLock> TargetLock::acquire(const std::string& dir, const std::string& target, std::chrono::milliseconds timeout,
                                       const CancelToken& cancel) {
  // FNV-1a: a stable name for any target string (a dataset, or a --recv-cmd); a collision
  // only serializes two targets' set-ups.
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : target) h = (h ^ c) * 1099511628211ULL;
  char name[32];
  std::snprintf(name, sizeof name, "receive-%016llx.lock", static_cast<unsigned long long>(h));
  const std::string path = dir + "/" + name;
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return sys_error("opening " + path);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) return sys_error("locking " + path);
    if (std::chrono::steady_clock::now() >= deadline) {
      std::string why = "another transfer into '" + target + "' is still starting (";
      why += path;
      why += " stays locked); try again";
      return Status(Errc::timeout, why);
    }
    if (!cancel.wait_for(std::chrono::milliseconds(50))) return cancel.reason();
  }
  return TargetLock(std::move(fd));
}

}  // namespace pgm::journal
