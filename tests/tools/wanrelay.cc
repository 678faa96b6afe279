// wanrelay: a user-space WAN emulator for pgmigrate's benchmarks and fault tests.
//
// The kernel here has no netem, so the "link" is a TCP relay: every accepted connection is
// relayed to --target, and each direction holds every byte for --delay-ms before passing it on
// (RTT = 2 x delay). It can also cap the rate per direction, cut connections with a TCP RST at
// chosen or random points, and flip one byte in transit.
//
// Design (why it is never the bottleneck):
//   - one thread per connection; it owns both directions, an epoll set and a timerfd, so
//     connections scale over cores and nothing is shared on the data path but a few counters;
//   - non-blocking sockets; reads of up to 256 KiB go straight into pooled 256 KiB blocks, and
//     writes gather up to 16 blocks in one writev(): each byte is copied into and out of the
//     relay by the kernel and never by us;
//   - a direction's delay line is its blocks plus a queue of (stream offset, release time)
//     markers, so small reads share blocks (memory stays proportional to bytes queued) while each
//     byte keeps its own release time, to within kMarkerMergeNs;
//   - a direction stops reading while it holds --queue-mib (default 64 MiB; a 10 Gbit/s x 30 ms
//     delay line is 37 MB), while 2 MiB of due bytes wait for a slow receiver, or while all
//     connections together hold --total-queue-mib, so TCP backpressure reaches the sender and
//     memory stays near rate x delay.
//
// Cuts first let the peer acknowledge what was already written to it (an RST would discard our
// send queue), so "--cut-after-bytes N" delivers exactly N bytes; what the delay line still holds
// is dropped, as on a link that fails with data in flight.
//
// Tests: wanrelay_test.sh (ctest, label tools). Throughput: wanrelay_bench.sh, by hand.
//
// Caveat: the relay terminates TCP on both sides, so the delay applies to the application's
// round trips (SSH channel windows, request/response) but not to TCP's own acks: the sender's
// kernel sees a loopback peer. A direction's throughput is bounded by queue / delay, so
// --queue-mib doubles as a per-connection window.
//
// Standalone on purpose: libc, the STL and Threads only, so it can front any program.

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace pgm::wanrelay {
namespace {

constexpr std::size_t kBlockSize = std::size_t{256} << 10;  // the largest single read, and the buffer unit
constexpr int kMaxIov = 16;                                 // blocks gathered into one writev()
constexpr int kReadsPerWake = 4;                            // reads per direction before others get a turn
constexpr std::size_t kSpareBlocks = 8;                     // freed blocks a direction keeps for reuse
// Reads less than this apart share one marker released at the later time, so the marker queue
// stays short under a stream of small reads; bytes are held up to this much longer than asked.
constexpr int64_t kMarkerMergeNs = 250'000;
constexpr std::size_t kMaxMarkers = 1 << 16;  // bounds marker memory whatever the read pattern
// Bytes already due but not yet taken by a slow receiver: past this, stop reading. Only the
// delay line needs to be long; this keeps the rest of the queue (and the cache footprint) small
// when the receiver, not the link, is the bottleneck. It plays the link's bottleneck buffer.
constexpr uint64_t kMaxDueBacklog = 2u << 20;
constexpr int64_t kGlobalBudgetPollNs = 1'000'000;  // retry interval when the shared cap is hit
constexpr int kConnectTimeoutMs = 10'000;
constexpr int kCutDrainMs = 1'000;  // how long a cut waits for its last bytes to reach the peer

int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// strerror() may share a buffer between threads; the descriptions themselves are constant.
const char* errno_text(int err) {
  const char* text = ::strerrordesc_np(err);
  return text ? text : "unknown error";
}

// One write(2) per line so lines from connection threads never interleave.
__attribute__((format(printf, 1, 2))) void log_line(const char* fmt, ...) {
  char buf[512];
  int n = std::snprintf(buf, sizeof buf, "wanrelay: ");
  va_list ap;
  va_start(ap, fmt);
  int m = std::vsnprintf(buf + n, sizeof buf - n - 1, fmt, ap);
  va_end(ap);
  std::size_t len = std::min<std::size_t>(n + std::max(m, 0), sizeof buf - 2);
  buf[len++] = '\n';
  ssize_t ignored = ::write(STDERR_FILENO, buf, len);
  (void)ignored;
}

// ---------------------------------------------------------------------------------------------
// Options

// Which direction the fault options (--cut-*, --flip-byte-at) act on.
enum class FaultDir { kClientToServer, kServerToClient };

struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;
  std::string text;
};

struct Options {
  Endpoint listen;
  Endpoint target;
  int64_t delay_ns = 30'000'000;
  double rate_mbit = 0;  // 0: unlimited
  uint64_t queue_bytes = 64ull << 20;
  uint64_t total_queue_bytes = 1024ull << 20;
  std::optional<uint64_t> cut_after;
  std::optional<uint64_t> cut_every;
  std::optional<uint64_t> cut_random_max;
  uint64_t seed = 1;
  std::optional<uint64_t> flip_at;
  std::optional<uint64_t> max_cuts;
  FaultDir fault_dir = FaultDir::kClientToServer;
  uint64_t max_conns = 256;
  std::string port_file;
  std::string stats_file;
  double max_seconds = 3600;
  bool verbose = false;
};

constexpr const char* kUsage = R"(usage: wanrelay --listen 127.0.0.1:PORT --target 127.0.0.1:PORT [options]

A delaying TCP relay for emulating a WAN on loopback. Every accepted connection is relayed to
--target; each direction delays every byte by --delay-ms (RTT = 2 x delay).

Link:
  --listen ADDR:PORT          loopback address to listen on (127.x.x.x or [::1]); port 0 picks one
  --target ADDR:PORT          loopback address to relay to
  --delay-ms MS               one-way delay per direction, fractions allowed (default 30)
  --rate-mbit R               token-bucket cap per direction per connection, in Mbit/s; applied
                              as the relay reads, before the delay (default 0 = unlimited)
  --queue-mib M               bytes a direction may hold before it stops reading (default 64);
                              also caps one direction at M / delay, like a TCP window
  --total-queue-mib M         the same cap over all connections together (default 1024)
  --max-conns N               connections relayed at once; more are reset (default 256)

Faults (act on client->server bytes unless --fault-dir s2c):
  --cut-after-bytes N         reset each connection once N bytes have been relayed on it
  --cut-every-bytes N         reset the connection that carries byte N, 2N, 3N, ... counted
                              over all connections for the relay's lifetime
  --cut-random-max-bytes N    like --cut-every-bytes, but each gap between cuts is drawn
                              uniformly from [1, N] by a PRNG seeded with --seed
  --seed S                    seed for --cut-random-max-bytes (default 1)
  --max-cuts K                at most K cuts in total, then relay plainly (default unlimited)
  --flip-byte-at N            XOR 0x01 into the byte at offset N of the stream of the first
                              connection that reaches it; once per relay lifetime
  --fault-dir c2s|s2c         the direction faults count and act on (default c2s)
  A cut waits (up to 1 s) until the peer has acknowledged the bytes already written to it, so
  it receives exactly up to the cut point, then sends RST (SO_LINGER 0) to both peers and
  drops the bytes the relay still holds, like a link that fails with data in flight.

Control:
  --port-file FILE            write the bound port to FILE (atomically) once listening
  --stats-file FILE           write JSON stats on SIGTERM, SIGINT, SIGUSR1 (without exiting)
                              and at exit: connections, active/refused_connections,
                              connect_failures, bytes_client_to_server, bytes_server_to_client
                              (delivered), cuts, flips, max_queued_bytes, peak_rss_kib,
                              elapsed_seconds
  --max-seconds S             exit by itself after S seconds (default 3600)
  -v, --verbose               log every connection
  -h, --help                  this text
)";

std::string parse_endpoint(std::string_view text, Endpoint* out) {
  std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == text.size()) {
    return "expected ADDR:PORT, got '" + std::string(text) + "'";
  }
  std::string host(text.substr(0, colon));
  std::string port_text(text.substr(colon + 1));
  char* end = nullptr;
  errno = 0;
  unsigned long port = std::strtoul(port_text.c_str(), &end, 10);
  if (errno || *end || port > 65535 || port_text[0] == '-') {
    return "bad port in '" + std::string(text) + "'";
  }
  out->text = std::string(text);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&out->addr);
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &a6->sin6_addr) != 1) {
      return "bad IPv6 address in '" + std::string(text) + "'";
    }
    if (!IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr)) {
      return "'" + std::string(text) + "' is not a loopback address; wanrelay only runs on loopback";
    }
    out->len = sizeof(sockaddr_in6);
    return "";
  }
  auto* a4 = reinterpret_cast<sockaddr_in*>(&out->addr);
  a4->sin_family = AF_INET;
  a4->sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &a4->sin_addr) != 1) {
    return "bad IPv4 address in '" + std::string(text) + "' (numeric only, e.g. 127.0.0.1)";
  }
  if ((ntohl(a4->sin_addr.s_addr) >> 24) != 127) {
    return "'" + std::string(text) + "' is not a loopback address; wanrelay only runs on loopback";
  }
  out->len = sizeof(sockaddr_in);
  return "";
}

std::string parse_u64(std::string_view flag, const char* text, uint64_t min, uint64_t* out) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text, &end, 10);
  if (errno || end == text || *end || text[0] == '-' || v < min) {
    return std::string(flag) + ": expected an integer >= " + std::to_string(min) + ", got '" + text + "'";
  }
  *out = v;
  return "";
}

std::string parse_double(std::string_view flag, const char* text, double min, double* out) {
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(text, &end);
  if (errno || end == text || *end || !(v >= min) || v > 1e12) {
    return std::string(flag) + ": expected a number >= " + std::to_string(min) + ", got '" + text + "'";
  }
  *out = v;
  return "";
}

// Returns an error message, or "" on success. *help is set for --help.
std::string parse_args(int argc, char** argv, Options* o, bool* help) {
  bool have_listen = false, have_target = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (flag == "-h" || flag == "--help") {
      *help = true;
      return "";
    }
    if (flag == "-v" || flag == "--verbose") {
      o->verbose = true;
      continue;
    }
    if (i + 1 >= argc) return std::string(flag) + ": unknown flag or missing value";
    const char* value = argv[++i];
    std::string err;
    uint64_t u = 0;
    double d = 0;
    if (flag == "--listen") {
      err = parse_endpoint(value, &o->listen);
      have_listen = true;
    } else if (flag == "--target") {
      err = parse_endpoint(value, &o->target);
      have_target = true;
    } else if (flag == "--delay-ms") {
      err = parse_double(flag, value, 0, &d);
      o->delay_ns = static_cast<int64_t>(d * 1e6);
    } else if (flag == "--rate-mbit") {
      err = parse_double(flag, value, 0, &o->rate_mbit);
    } else if (flag == "--queue-mib") {
      err = parse_u64(flag, value, 1, &u);
      o->queue_bytes = u << 20;
    } else if (flag == "--total-queue-mib") {
      err = parse_u64(flag, value, 1, &u);
      o->total_queue_bytes = u << 20;
    } else if (flag == "--max-conns") {
      err = parse_u64(flag, value, 1, &o->max_conns);
    } else if (flag == "--cut-after-bytes") {
      err = parse_u64(flag, value, 1, &u);
      o->cut_after = u;
    } else if (flag == "--cut-every-bytes") {
      err = parse_u64(flag, value, 1, &u);
      o->cut_every = u;
    } else if (flag == "--cut-random-max-bytes") {
      err = parse_u64(flag, value, 1, &u);
      o->cut_random_max = u;
    } else if (flag == "--seed") {
      err = parse_u64(flag, value, 0, &o->seed);
    } else if (flag == "--max-cuts") {
      err = parse_u64(flag, value, 0, &u);
      o->max_cuts = u;
    } else if (flag == "--flip-byte-at") {
      err = parse_u64(flag, value, 0, &u);
      o->flip_at = u;
    } else if (flag == "--fault-dir") {
      std::string_view v = value;
      if (v == "c2s") {
        o->fault_dir = FaultDir::kClientToServer;
      } else if (v == "s2c") {
        o->fault_dir = FaultDir::kServerToClient;
      } else {
        err = "--fault-dir: expected c2s or s2c";
      }
    } else if (flag == "--port-file") {
      o->port_file = value;
    } else if (flag == "--stats-file") {
      o->stats_file = value;
    } else if (flag == "--max-seconds") {
      err = parse_double(flag, value, 0.001, &o->max_seconds);
    } else {
      err = std::string(flag) + ": unknown flag";
    }
    if (!err.empty()) return err;
  }
  if (!have_listen || !have_target) return "--listen and --target are required";
  if (o->cut_every && o->cut_random_max) {
    return "--cut-every-bytes and --cut-random-max-bytes exclude each other";
  }
  if (o->total_queue_bytes < o->queue_bytes) o->total_queue_bytes = o->queue_bytes;
  return "";
}

// ---------------------------------------------------------------------------------------------
// Shared state

struct Stats {
  std::atomic<uint64_t> connections{0};  // accepted and relayed
  std::atomic<uint64_t> refused{0};      // reset because --max-conns were active
  std::atomic<uint64_t> connect_failures{0};
  std::atomic<uint64_t> active{0};
  std::atomic<uint64_t> bytes_c2s{0};  // delivered to the server
  std::atomic<uint64_t> bytes_s2c{0};  // delivered to the client
  std::atomic<uint64_t> cuts{0};
  std::atomic<uint64_t> flips{0};
  std::atomic<uint64_t> queued{0};      // held by all directions now (the shared cap)
  std::atomic<uint64_t> max_queued{0};  // the most one direction ever held
};

void atomic_max(std::atomic<uint64_t>& a, uint64_t v) {
  uint64_t cur = a.load(std::memory_order_relaxed);
  while (v > cur && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

// Per-connection fault bookkeeping, kept by the direction the faults act on.
struct ConnFaults {
  uint64_t delivered = 0;       // bytes of this connection's faulted stream written so far
  bool cut_after_armed = true;  // cleared if --max-cuts ran out when this connection got there
};

// How much of a pending write may go out before a cut, and whether the cut follows it.
struct WriteBudget {
  uint64_t allowed;
  bool cut_at_end;
};

// Decides cuts and the flip. Per-connection cuts and the flip need only atomics. Cuts counted
// over all connections (--cut-every/--cut-random) need the order of writes across connections,
// so those writes happen under mu_; only fault runs pay for that, never plain relaying.
class FaultPlan {
 public:
  FaultPlan(const Options& o, Stats* stats) : o_(o), stats_(stats), rng_(o.seed), global_(o.cut_every || o.cut_random_max) {
    if (global_) next_global_cut_ = draw_gap();
  }

  bool any() const { return global_ || o_.cut_after || o_.flip_at; }
  bool global() const { return global_; }
  std::mutex& mu() { return mu_; }

  // REQUIRES: mu() held if global(). want > 0.
  WriteBudget budget(const ConnFaults& cf, uint64_t want) const {
    WriteBudget b{want, false};
    if (!cuts_left()) return b;
    if (o_.cut_after && cf.cut_after_armed && *o_.cut_after - cf.delivered <= b.allowed) {
      b = {*o_.cut_after - cf.delivered, true};
    }
    if (global_ && next_global_cut_ - global_delivered_ <= b.allowed) {
      b = {next_global_cut_ - global_delivered_, true};
    }
    return b;
  }

  // Records n delivered bytes (n <= b.allowed). True if the connection must be cut now.
  // REQUIRES: mu() held if global().
  bool commit(ConnFaults* cf, uint64_t n, const WriteBudget& b) {
    cf->delivered += n;
    bool at_cut_after = o_.cut_after && cf->cut_after_armed && cf->delivered == *o_.cut_after;
    bool at_global = false;
    if (global_) {
      global_delivered_ += n;
      if (global_delivered_ == next_global_cut_) {
        at_global = true;
        next_global_cut_ += draw_gap();
      }
    }
    if (!b.cut_at_end || n != b.allowed || !(at_cut_after || at_global)) return false;
    if (take_cut()) return true;
    cf->cut_after_armed = false;  // out of cuts: this connection relays plainly from now on
    return false;
  }

  // If stream bytes [offset, offset + len) hold the flip offset and no connection has flipped
  // yet, claims the flip and returns the index to flip within the range.
  std::optional<uint64_t> claim_flip(uint64_t offset, uint64_t len) {
    if (!o_.flip_at || *o_.flip_at < offset || *o_.flip_at - offset >= len) return std::nullopt;
    if (flipped_.exchange(true)) return std::nullopt;
    stats_->flips.fetch_add(1);
    return *o_.flip_at - offset;
  }

 private:
  bool cuts_left() const { return !o_.max_cuts || stats_->cuts.load() < *o_.max_cuts; }
  bool take_cut() {
    uint64_t c = stats_->cuts.load();
    while (!o_.max_cuts || c < *o_.max_cuts) {
      if (stats_->cuts.compare_exchange_weak(c, c + 1)) return true;
    }
    return false;
  }
  uint64_t draw_gap() {
    if (o_.cut_every) return *o_.cut_every;
    return std::uniform_int_distribution<uint64_t>(1, *o_.cut_random_max)(rng_);
  }

  const Options& o_;
  Stats* stats_;
  std::mt19937_64 rng_;  // guarded by mu_
  const bool global_;
  std::mutex mu_;
  uint64_t global_delivered_ = 0;  // guarded by mu_
  uint64_t next_global_cut_ = 0;   // guarded by mu_
  std::atomic<bool> flipped_{false};
};

struct Shared {
  const Options& opts;
  Stats stats;
  FaultPlan faults;
  int stop_fd;  // eventfd, readable once the relay is stopping
  explicit Shared(const Options& o) : opts(o), faults(o, &stats), stop_fd(-1) {}
};

// ---------------------------------------------------------------------------------------------
// One direction of a connection: a delay line from in_fd to out_fd.

class Direction {
 public:
  enum class Outcome { kOk, kError, kCut };

  Direction(Shared* shared, uint64_t conn_id, const char* name, int in_fd, int out_fd, bool faulted, bool is_c2s)
      : shared_(shared),
        o_(shared->opts),
        conn_id_(conn_id),
        name_(name),
        in_fd_(in_fd),
        out_fd_(out_fd),
        faulted_(faulted && shared->faults.any()),
        bytes_counter_(is_c2s ? &shared->stats.bytes_c2s : &shared->stats.bytes_s2c) {
    if (o_.rate_mbit > 0) {
      rate_bytes_per_ns_ = o_.rate_mbit * 1e6 / 8 / 1e9;
      // Burst: 2 ms at the rate, at least 16 KiB so slow links still move whole segments.
      burst_ = std::max(16384.0, o_.rate_mbit * 1e6 / 8 * 0.002);
      tokens_ = burst_;
      tokens_at_ns_ = now_ns();
    }
  }
  ~Direction() { shared_->stats.queued.fetch_sub(queued()); }
  Direction(const Direction&) = delete;
  Direction& operator=(const Direction&) = delete;

  const char* name() const { return name_; }
  int out_fd() const { return out_fd_; }
  uint64_t queued() const { return read_total_ - written_total_; }
  uint64_t written() const { return written_total_; }
  bool write_blocked() const { return write_blocked_; }
  // EOF has been passed on: this direction has nothing left to do.
  bool finished() const { return out_shut_; }

  // Whether to poll in_fd for input: not at EOF and within every cap.
  bool wants_read(int64_t now) {
    if (in_eof_ || queued() >= o_.queue_bytes || markers_.size() >= kMaxMarkers) return false;
    if (released_total_ - written_total_ >= kMaxDueBacklog) return false;
    if (shared_->stats.queued.load(std::memory_order_relaxed) >= o_.total_queue_bytes) {
      return false;
    }
    return rate_bytes_per_ns_ == 0 || refill(now) >= burst_ / 4;
  }

  // Reads what is ready (if ready), then writes what is due. Called on every wake-up.
  Outcome step(int64_t now, bool in_ready, bool out_ready) {
    if (out_ready) write_blocked_ = false;
    if (in_ready && !read_some(now)) return Outcome::kError;
    return flush(now);
  }

  // The next time this direction needs a wake-up without any socket event, or INT64_MAX.
  int64_t next_deadline(int64_t now) {
    int64_t t = INT64_MAX;
    if (!markers_.empty()) t = markers_.front().release_ns;
    if (in_eof_ && !out_shut_ && written_total_ == read_total_) t = std::min(t, eof_release_ns_);
    if (!in_eof_ && queued() < o_.queue_bytes) {
      if (shared_->stats.queued.load(std::memory_order_relaxed) >= o_.total_queue_bytes) {
        t = std::min(t, now + kGlobalBudgetPollNs);  // no one wakes us when others drain
      } else if (rate_bytes_per_ns_ > 0 && tokens_ < burst_ / 4) {
        t = std::min(t, now + static_cast<int64_t>((burst_ / 4 - tokens_) / rate_bytes_per_ns_) + 1);
      }
    }
    return t;
  }

 private:
  struct Block {
    std::unique_ptr<char[]> data;
    std::size_t begin = 0;  // first byte not yet written
    std::size_t end = 0;    // one past the last byte read
  };
  // Bytes of the stream before `end` are released at `release_ns`.
  struct Marker {
    uint64_t end;
    int64_t release_ns;
    int64_t first_release_ns;  // of the oldest read merged in; bounds the extra hold
  };

  double refill(int64_t now) {
    tokens_ = std::min(burst_, tokens_ + static_cast<double>(now - tokens_at_ns_) * rate_bytes_per_ns_);
    tokens_at_ns_ = now;
    return tokens_;
  }

  std::unique_ptr<char[]> new_block() {
    if (!spare_.empty()) {
      auto b = std::move(spare_.back());
      spare_.pop_back();
      return b;
    }
    // new char[] leaves the block uninitialised: pages are touched only as data arrives.
    return std::unique_ptr<char[]>(new char[kBlockSize]);
  }
  void free_block(std::unique_ptr<char[]> b) {
    if (spare_.size() < kSpareBlocks) spare_.push_back(std::move(b));
  }

  // Reads into the tail block and one fresh block, up to kBlockSize per call. False on error.
  bool read_some(int64_t now) {
    for (int round = 0; round < kReadsPerWake && wants_read(now); ++round) {
      uint64_t room = std::min<uint64_t>(kBlockSize, o_.queue_bytes - queued());
      if (rate_bytes_per_ns_ > 0) room = std::min<uint64_t>(room, static_cast<uint64_t>(tokens_));
      iovec iov[2];
      int iovcnt = 0;
      std::size_t tail_room = blocks_.empty() ? 0 : kBlockSize - blocks_.back().end;
      if (tail_room > 0) {
        iov[iovcnt++] = {blocks_.back().data.get() + blocks_.back().end, std::min<std::size_t>(tail_room, room)};
      }
      std::unique_ptr<char[]> fresh;
      if (room > tail_room) {
        fresh = new_block();
        iov[iovcnt++] = {fresh.get(), std::min<std::size_t>(kBlockSize, room - tail_room)};
      }
      ssize_t n = ::readv(in_fd_, iov, iovcnt);
      if (n < 0) {
        if (fresh) free_block(std::move(fresh));
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
        error_ = errno;
        return false;
      }
      if (n == 0) {
        if (fresh) free_block(std::move(fresh));
        in_eof_ = true;
        eof_release_ns_ = now + o_.delay_ns;  // the FIN travels the link like the data
        return true;
      }
      std::size_t got = static_cast<std::size_t>(n);
      std::size_t into_tail = std::min(got, tail_room);
      if (into_tail) blocks_.back().end += into_tail;
      if (got > into_tail) {
        blocks_.push_back(Block{std::move(fresh), 0, got - into_tail});
      } else if (fresh) {
        free_block(std::move(fresh));
      }
      read_total_ += got;
      tokens_ -= static_cast<double>(got);
      shared_->stats.queued.fetch_add(got, std::memory_order_relaxed);
      if (queued() > peak_queued_) {
        peak_queued_ = queued();
        atomic_max(shared_->stats.max_queued, peak_queued_);
      }
      int64_t release = now + o_.delay_ns;
      if (!markers_.empty() && release - markers_.back().first_release_ns < kMarkerMergeNs) {
        markers_.back().end = read_total_;
        markers_.back().release_ns = release;
      } else {
        markers_.push_back(Marker{read_total_, release, release});
      }
      if (got < room) return true;  // drained the socket; epoll says when there is more
    }
    return true;
  }

  // Writes every byte whose release time has come, until the peer pushes back.
  Outcome flush(int64_t now) {
    while (!markers_.empty() && markers_.front().release_ns <= now) {
      released_total_ = markers_.front().end;
      markers_.pop_front();
    }
    while (written_total_ < released_total_ && !write_blocked_) {
      uint64_t want = released_total_ - written_total_;
      std::unique_lock<std::mutex> lock;
      WriteBudget budget{want, false};
      if (faulted_) {
        if (shared_->faults.global()) lock = std::unique_lock<std::mutex>(shared_->faults.mu());
        budget = shared_->faults.budget(conn_faults_, want);
        if (budget.allowed == 0) {  // defensive: commit() normally cuts before this can happen
          if (shared_->faults.commit(&conn_faults_, 0, budget)) return cut();
          continue;
        }
      }
      iovec iov[kMaxIov];
      int iovcnt = 0;
      uint64_t gathered = 0;
      for (std::size_t i = 0; i < blocks_.size() && iovcnt < kMaxIov && gathered < budget.allowed; ++i) {
        Block& b = blocks_[i];
        std::size_t len = std::min<uint64_t>(b.end - b.begin, budget.allowed - gathered);
        iov[iovcnt++] = {b.data.get() + b.begin, len};
        gathered += len;
      }
      if (faulted_) {
        if (auto idx = shared_->faults.claim_flip(conn_faults_.delivered, gathered)) {
          flip_byte(iov, iovcnt, *idx);
          log_line("connection %" PRIu64 ": flipped the byte at offset %" PRIu64 " %s", conn_id_, conn_faults_.delivered + *idx, name_);
        }
      }
      ssize_t n = ::writev(out_fd_, iov, iovcnt);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          write_blocked_ = true;
          break;
        }
        error_ = errno;
        return Outcome::kError;
      }
      consume(static_cast<uint64_t>(n));
      if (faulted_ && shared_->faults.commit(&conn_faults_, static_cast<uint64_t>(n),
                                             WriteBudget{gathered, budget.cut_at_end && gathered == budget.allowed})) {
        return cut();
      }
    }
    if (in_eof_ && !out_shut_ && written_total_ == read_total_ && now >= eof_release_ns_) {
      ::shutdown(out_fd_, SHUT_WR);
      out_shut_ = true;
    }
    return Outcome::kOk;
  }

  Outcome cut() {
    log_line("connection %" PRIu64 ": cut after %" PRIu64 " bytes %s (cut %" PRIu64 ")", conn_id_, conn_faults_.delivered, name_,
             shared_->stats.cuts.load());
    return Outcome::kCut;
  }

  static void flip_byte(iovec* iov, int iovcnt, uint64_t idx) {
    for (int i = 0; i < iovcnt; ++i) {
      if (idx < iov[i].iov_len) {
        static_cast<unsigned char*>(iov[i].iov_base)[idx] ^= 0x01;
        return;
      }
      idx -= iov[i].iov_len;
    }
  }

  void consume(uint64_t n) {
    written_total_ += n;
    bytes_counter_->fetch_add(n, std::memory_order_relaxed);
    shared_->stats.queued.fetch_sub(n, std::memory_order_relaxed);
    while (n > 0) {
      Block& b = blocks_.front();
      std::size_t take = std::min<uint64_t>(n, b.end - b.begin);
      b.begin += take;
      n -= take;
      // Keep a partly filled tail block: later reads still append to it.
      if (b.begin == b.end && (b.end == kBlockSize || blocks_.size() > 1)) {
        free_block(std::move(b.data));
        blocks_.pop_front();
      }
    }
    if (blocks_.size() == 1 && blocks_.front().begin == blocks_.front().end) {
      blocks_.front().begin = blocks_.front().end = 0;  // reuse the cache-warm start
    }
  }

 public:
  int error_ = 0;  // errno of the failure behind Outcome::kError

 private:
  Shared* shared_;
  const Options& o_;
  const uint64_t conn_id_;
  const char* name_;
  int in_fd_;
  int out_fd_;
  const bool faulted_;
  std::atomic<uint64_t>* bytes_counter_;

  std::deque<Block> blocks_;
  std::vector<std::unique_ptr<char[]>> spare_;
  std::deque<Marker> markers_;
  uint64_t read_total_ = 0;
  uint64_t released_total_ = 0;
  uint64_t written_total_ = 0;
  uint64_t peak_queued_ = 0;
  bool in_eof_ = false;
  int64_t eof_release_ns_ = 0;
  bool out_shut_ = false;
  bool write_blocked_ = false;

  double rate_bytes_per_ns_ = 0;
  double burst_ = 0;
  double tokens_ = 0;
  int64_t tokens_at_ns_ = 0;

  ConnFaults conn_faults_;
};

// ---------------------------------------------------------------------------------------------
// One relayed connection, run on its own thread.

void close_with_reset(int fd) {
  linger l{1, 0};  // close() then sends RST instead of FIN, like a dropped link would
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
}

void set_nonblocking_nodelay(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  // The relay forwards what it read at once; Nagle would add latency the peers did not ask for.
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Non-blocking connect bounded by kConnectTimeoutMs and the stop event. Returns the fd, or -1
// with the reason in *err.
int connect_target(const Shared& s, int* err_out) {
  const Endpoint& t = s.opts.target;
  int fd = ::socket(t.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err_out = errno;
    return -1;
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&t.addr), t.len) == 0) return fd;
  if (errno != EINPROGRESS) {
    *err_out = errno;
    ::close(fd);
    return -1;
  }
  pollfd p[2] = {{fd, POLLOUT, 0}, {s.stop_fd, POLLIN, 0}};
  int r;
  do {
    r = ::poll(p, 2, kConnectTimeoutMs);
  } while (r < 0 && errno == EINTR);
  int err = 0;
  socklen_t len = sizeof err;
  if (r <= 0 || !(p[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
    *err_out = r < 0 ? errno : ETIMEDOUT;
    ::close(fd);
    return -1;
  }
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
    *err_out = err ? err : errno;
    ::close(fd);
    return -1;
  }
  return fd;
}

class Connection {
 public:
  Connection(Shared* shared, int client_fd, int server_fd, uint64_t id)
      : s_(shared),
        id_(id),
        client_fd_(client_fd),
        server_fd_(server_fd),
        c2s_(shared, id, "client->server", client_fd, server_fd, shared->opts.fault_dir == FaultDir::kClientToServer, true),
        s2c_(shared, id, "server->client", server_fd, client_fd, shared->opts.fault_dir == FaultDir::kServerToClient, false) {}

  void run() {
    epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
    timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (epfd_ < 0 || timer_fd_ < 0) {
      log_line("connection %" PRIu64 ": epoll/timerfd: %s", id_, errno_text(errno));
      finish(End::kReset);
      return;
    }
    add_fixed(s_->stop_fd);
    add_fixed(timer_fd_);
    set_nonblocking_nodelay(client_fd_);
    set_nonblocking_nodelay(server_fd_);

    bool client_in = false, client_out = false, server_in = false, server_out = false;
    // Bounded: each pass blocks in epoll_wait until a socket, the timer or the stop event fires,
    // and the stop event ends it (the relay itself stops after --max-seconds).
    for (;;) {
      int64_t now = now_ns();
      Direction::Outcome a = c2s_.step(now, client_in, server_out);
      Direction::Outcome b = s2c_.step(now, server_in, client_out);
      if (a == Direction::Outcome::kCut || b == Direction::Outcome::kCut) {
        drain_before_cut(a == Direction::Outcome::kCut ? c2s_ : s2c_);
        finish(End::kReset);
        return;
      }
      if (a == Direction::Outcome::kError || b == Direction::Outcome::kError) {
        // Pass a peer's reset (or any failure) on as a reset, as a real link would.
        Direction& d = a == Direction::Outcome::kError ? c2s_ : s2c_;
        if (s_->opts.verbose) {
          log_line("connection %" PRIu64 ": %s: %s; resetting", id_, d.name(), errno_text(d.error_));
        }
        finish(End::kReset);
        return;
      }
      if (c2s_.finished() && s2c_.finished()) {
        finish(End::kClean);
        return;
      }
      update_interest(client_fd_, c2s_.wants_read(now), s2c_.write_blocked(), &client_mask_);
      update_interest(server_fd_, s2c_.wants_read(now), c2s_.write_blocked(), &server_mask_);
      arm_timer(std::min(c2s_.next_deadline(now), s2c_.next_deadline(now)));

      epoll_event ev[8];
      int n = ::epoll_wait(epfd_, ev, 8, -1);
      if (n < 0 && errno != EINTR) {
        log_line("connection %" PRIu64 ": epoll_wait: %s", id_, errno_text(errno));
        finish(End::kReset);
        return;
      }
      client_in = client_out = server_in = server_out = false;
      for (int i = 0; i < n; ++i) {
        int fd = ev[i].data.fd;
        uint32_t e = ev[i].events;
        // An error or hang-up shows up as a failed or empty read/write; let those report it.
        bool in = e & (EPOLLIN | EPOLLERR | EPOLLHUP);
        bool out = e & (EPOLLOUT | EPOLLERR | EPOLLHUP);
        if (fd == s_->stop_fd) {
          finish(End::kClean);
          return;
        } else if (fd == timer_fd_) {
          uint64_t ticks;
          ssize_t ignored = ::read(timer_fd_, &ticks, sizeof ticks);
          (void)ignored;
          armed_ns_ = -1;  // it fired and is disarmed: the next deadline must be armed anew
        } else if (fd == client_fd_) {
          client_in = in && (client_mask_ & EPOLLIN);
          client_out = out && (client_mask_ & EPOLLOUT);
        } else if (fd == server_fd_) {
          server_in = in && (server_mask_ & EPOLLIN);
          server_out = out && (server_mask_ & EPOLLOUT);
        }
      }
    }
  }

 private:
  enum class End { kClean, kReset };

  // An RST discards whatever is still in our socket's send queue, so "cut after N bytes" would
  // deliver fewer than N. Wait (boundedly; the stop event ends it early) until the peer has
  // acknowledged every byte written; what the delay line still holds is lost, as on a real cut.
  void drain_before_cut(const Direction& d) {
    for (int ms = 0; ms < kCutDrainMs; ++ms) {
      int unacked = 0;
      if (::ioctl(d.out_fd(), SIOCOUTQ, &unacked) != 0 || unacked == 0) return;
      pollfd p{s_->stop_fd, POLLIN, 0};
      if (::poll(&p, 1, 1) > 0) return;
    }
    log_line("connection %" PRIu64 ": the peer did not take the bytes before the cut in %d ms", id_, kCutDrainMs);
  }

  void add_fixed(int fd) const {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
  }

  // A socket with no interest leaves the set: level-triggered EPOLLHUP/EPOLLERR would otherwise
  // wake us in a loop while we wait on something else (a full queue, the timer).
  void update_interest(int fd, bool in, bool out, uint32_t* mask) const {
    uint32_t want = (in ? EPOLLIN : 0u) | (out ? EPOLLOUT : 0u);
    if (want == *mask) return;
    epoll_event ev{};
    ev.events = want;
    ev.data.fd = fd;
    if (want == 0) {
      ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
    } else {
      ::epoll_ctl(epfd_, *mask == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev);
    }
    *mask = want;
  }

  void arm_timer(int64_t deadline) {
    if (deadline == armed_ns_) return;
    armed_ns_ = deadline;
    itimerspec its{};
    if (deadline != INT64_MAX) {
      deadline = std::max<int64_t>(deadline, 1);  // zero would disarm
      its.it_value.tv_sec = deadline / 1'000'000'000;
      its.it_value.tv_nsec = deadline % 1'000'000'000;
    }
    ::timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &its, nullptr);
  }

  void finish(End how) {
    if (how == End::kReset) {
      close_with_reset(client_fd_);
      close_with_reset(server_fd_);
    } else {
      ::close(client_fd_);
      ::close(server_fd_);
    }
    if (epfd_ >= 0) ::close(epfd_);
    if (timer_fd_ >= 0) ::close(timer_fd_);
    if (s_->opts.verbose) {
      log_line("connection %" PRIu64 " %s: %" PRIu64 " bytes client->server, %" PRIu64 " server->client", id_,
               how == End::kClean ? "closed" : "reset", c2s_.written(), s2c_.written());
    }
  }

  Shared* s_;
  uint64_t id_;
  int client_fd_;
  int server_fd_;
  int epfd_ = -1;
  int timer_fd_ = -1;
  uint32_t client_mask_ = 0;
  uint32_t server_mask_ = 0;
  int64_t armed_ns_ = INT64_MAX;
  Direction c2s_;
  Direction s2c_;
};

void serve_connection(Shared* s, int client_fd, uint64_t id) {
  int err = 0;
  int server_fd = connect_target(*s, &err);
  if (server_fd < 0) {
    s->stats.connect_failures.fetch_add(1);
    log_line("connection %" PRIu64 ": cannot connect to %s: %s; resetting the client", id, s->opts.target.text.c_str(), errno_text(err));
    close_with_reset(client_fd);
  } else {
    if (s->opts.verbose) log_line("connection %" PRIu64 " opened", id);
    Connection c(s, client_fd, server_fd, id);
    c.run();
  }
  s->stats.active.fetch_sub(1);
}

// ---------------------------------------------------------------------------------------------
// Files for scripts

// Writes via a temporary file and rename(), so a reader never sees half a file.
bool write_file_atomically(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f) return false;
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = (std::fclose(f) == 0) && ok;
  if (ok && std::rename(tmp.c_str(), path.c_str()) == 0) return true;
  std::remove(tmp.c_str());
  return false;
}

uint64_t peak_rss_kib() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  uint64_t kib = 0;
  while (std::fgets(line, sizeof line, f)) {
    if (std::sscanf(line, "VmHWM: %" SCNu64, &kib) == 1) break;
  }
  std::fclose(f);
  return kib;
}

void write_stats(const Shared& s, int64_t started_ns) {
  if (s.opts.stats_file.empty()) return;
  const Stats& st = s.stats;
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "{\"connections\": %" PRIu64 ", \"active_connections\": %" PRIu64 ", \"refused_connections\": %" PRIu64
                ", \"connect_failures\": %" PRIu64 ", \"bytes_client_to_server\": %" PRIu64 ", \"bytes_server_to_client\": %" PRIu64
                ", \"cuts\": %" PRIu64 ", \"flips\": %" PRIu64 ", \"max_queued_bytes\": %" PRIu64 ", \"peak_rss_kib\": %" PRIu64
                ", \"elapsed_seconds\": %.3f}\n",
                st.connections.load(), st.active.load(), st.refused.load(), st.connect_failures.load(), st.bytes_c2s.load(),
                st.bytes_s2c.load(), st.cuts.load(), st.flips.load(), st.max_queued.load(), peak_rss_kib(),
                static_cast<double>(now_ns() - started_ns) / 1e9);
  if (!write_file_atomically(s.opts.stats_file, buf)) {
    log_line("cannot write %s: %s", s.opts.stats_file.c_str(), errno_text(errno));
  }
}

// ---------------------------------------------------------------------------------------------
// The listener

int run(const Options& o) {
  int64_t started = now_ns();
  // Signals arrive through a signalfd on this thread; connection threads inherit the mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  ::signal(SIGPIPE, SIG_IGN);  // a vanished peer is an EPIPE to handle, not a reason to die

  auto shared = std::make_unique<Shared>(o);
  Shared& s = *shared;
  s.stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  int sig_fd = ::signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
  int lfd = ::socket(o.listen.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (s.stop_fd < 0 || sig_fd < 0 || lfd < 0 || ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      ::bind(lfd, reinterpret_cast<const sockaddr*>(&o.listen.addr), o.listen.len) != 0 || ::listen(lfd, 128) != 0) {
    log_line("cannot listen on %s: %s", o.listen.text.c_str(), errno_text(errno));
    return 1;
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof bound;
  ::getsockname(lfd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  unsigned port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                                    : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  if (!o.port_file.empty() && !write_file_atomically(o.port_file, std::to_string(port) + "\n")) {
    log_line("cannot write %s: %s", o.port_file.c_str(), errno_text(errno));
    return 1;
  }
  log_line("listening on port %u -> %s, delay %.3f ms each way, rate %s", port, o.target.text.c_str(),
           static_cast<double>(o.delay_ns) / 1e6, o.rate_mbit > 0 ? (std::to_string(o.rate_mbit) + " Mbit/s").c_str() : "unlimited");

  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  for (int fd : {lfd, sig_fd}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  const int64_t deadline = started + static_cast<int64_t>(o.max_seconds * 1e9);
  uint64_t next_id = 1;
  const char* why = "--max-seconds reached";
  // Bounded by the deadline: every wait is capped at the time left.
  for (;;) {
    int64_t left_ms = (deadline - now_ns()) / 1'000'000;
    if (left_ms <= 0) break;
    epoll_event ev[2];
    int n = ::epoll_wait(ep, ev, 2, static_cast<int>(std::min<int64_t>(left_ms, 60'000)));
    bool stop = false;
    for (int i = 0; i < n && !stop; ++i) {
      if (ev[i].data.fd == sig_fd) {
        signalfd_siginfo si;
        while (::read(sig_fd, &si, sizeof si) == sizeof si) {
          if (si.ssi_signo == SIGUSR1) {
            write_stats(s, started);
          } else {
            why = si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM";
            stop = true;
          }
        }
        continue;
      }
      // Accept what is pending; bounded by the listen backlog.
      for (int k = 0; k < 256; ++k) {
        int cfd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
        if (cfd < 0) {
          if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            // The connection stays pending and the listener readable: back off rather than spin.
            log_line("accept: %s; retrying", errno_text(errno));
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
          }
          break;  // EAGAIN: nothing more pending
        }
        if (s.stats.active.load() >= o.max_conns) {
          s.stats.refused.fetch_add(1);
          log_line("refusing a connection: --max-conns %" PRIu64 " active", o.max_conns);
          close_with_reset(cfd);
          continue;
        }
        s.stats.connections.fetch_add(1);
        s.stats.active.fetch_add(1);
        std::thread(serve_connection, &s, cfd, next_id++).detach();
      }
    }
    if (stop) break;
  }
  log_line("stopping (%s)", why);
  ::close(lfd);
  uint64_t one64 = 1;
  ssize_t ignored = ::write(s.stop_fd, &one64, sizeof one64);
  (void)ignored;
  // Connection threads see the stop event at their next wake-up; wait for them, boundedly.
  for (int i = 0; i < 300 && s.stats.active.load() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  write_stats(s, started);
  if (s.stats.active.load() > 0) {
    // A thread still running uses `s`; leave it alive and let exit() end the process.
    log_line("%" PRIu64 " connection threads did not stop in time", s.stats.active.load());
    (void)shared.release();
  }
  return 0;
}

}  // namespace
}  // namespace pgm::wanrelay

int main(int argc, char** argv) {
  pgm::wanrelay::Options opts;
  bool help = false;
  std::string err = pgm::wanrelay::parse_args(argc, argv, &opts, &help);
  if (help) {
    std::fputs(pgm::wanrelay::kUsage, stdout);
    return 0;
  }
  if (!err.empty()) {
    std::fprintf(stderr, "wanrelay: %s (see --help)\n", err.c_str());
    return 2;
  }
  return pgm::wanrelay::run(opts);
}
