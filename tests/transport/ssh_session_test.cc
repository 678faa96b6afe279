// The SSH session layer against a real OpenSSH sshd on loopback (tests/fixtures/sshd.sh).
#include "transport/ssh/ssh_session.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "common/cancel.h"
#include "common/process.h"
#include "transport/ssh/known_hosts.h"
#include "transport/ssh/ssh_channel.h"

namespace pgm::transport {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string fixture_script() {
  if (const char* p = std::getenv("PGM_SSHD_FIXTURE")) return p;
  return (fs::path(__FILE__).parent_path().parent_path() / "fixtures" / "sshd.sh").string();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

// One sshd, run by `bash sshd.sh serve` for as long as this object lives. The script stops
// sshd when its stdin closes, which also happens if this process dies.
class Sshd {
 public:
  static Result<std::unique_ptr<Sshd>> start(const std::string& extra_config = "") {
    ProcessSpec spec;
    spec.argv = {"bash", fixture_script(), "serve"};
    spec.pipe_stdin = true;
    spec.pipe_stdout = true;
    spec.pipe_size = 0;
    if (!extra_config.empty()) spec.extra_env = {"SSHD_EXTRA_CONFIG=" + extra_config};
    auto proc = Subprocess::spawn(spec);
    if (!proc) return proc.status();
    std::unique_ptr<Sshd> sshd(new Sshd);
    sshd->proc_ = std::move(*proc);
    std::string out;
    char c;
    while (out.find("READY\n") == std::string::npos) {
      ssize_t n = ::read(sshd->proc_->stdout_fd().get(), &c, 1);
      if (n <= 0) {
        int status = sshd->proc_->wait();
        return Status(Errc::internal, "sshd fixture failed (" + describe_wait_status(status) + "): " + sshd->proc_->stderr_text());
      }
      out.push_back(c);
    }
    std::istringstream lines(out);
    std::string line;
    while (std::getline(lines, line)) {
      auto eq = line.find('=');
      if (eq != std::string::npos) sshd->vars_[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return sshd;
  }
  ~Sshd() { proc_->wait(); }  // closes the script's stdin: it stops sshd and removes its files

  const std::string& var(const std::string& name) { return vars_[name]; }
  int port() { return std::stoi(var("SSHD_PORT")); }

  SshTarget target() {
    SshTarget t;
    t.host = "127.0.0.1";
    t.port = port();
    t.user = var("SSH_USER");
    t.identity_files = {var("SSH_KEY")};
    t.known_hosts = var("SSH_KNOWN_HOSTS");
    t.use_agent = false;  // a developer's agent must not change what the tests see
    t.connect_timeout = std::chrono::seconds(10);
    return t;
  }
  // The host key's fingerprint as OpenSSH computes it.
  std::string fingerprint() {
    auto out = run_command({"ssh-keygen", "-l", "-E", "sha256", "-f", var("SSH_HOST_KEY_PUB")});
    std::istringstream words(out.ok() ? out->out : "");
    std::string bits, fp;
    words >> bits >> fp;
    return fp;
  }

 private:
  Sshd() = default;
  std::unique_ptr<Subprocess> proc_;
  std::map<std::string, std::string> vars_;
};

class SshSessionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto s = Sshd::start();
    if (s) sshd_ = std::move(*s).release();
    else start_error_ = new std::string(s.status().message());
  }
  static void TearDownTestSuite() {
    delete sshd_;
    sshd_ = nullptr;
  }
  void SetUp() override {
    // scripts/install-deps installs openssh-server: its absence is a broken setup, not a skip.
    ASSERT_TRUE(fs::exists("/usr/sbin/sshd")) << "openssh-server is not installed (run scripts/install-deps)";
    ASSERT_NE(sshd_, nullptr) << (start_error_ ? *start_error_ : "");
    char tmpl[] = "/tmp/pgm-ssh-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    tmp_ = tmpl;
  }
  void TearDown() override {
    if (!tmp_.empty()) fs::remove_all(tmp_);
  }

  std::unique_ptr<SshSession> connect(const SshTarget& t) {
    auto s = SshSession::connect(t, cancel_);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? std::move(*s) : nullptr;
  }
  std::string new_key(const std::string& name) {
    std::string path = tmp_ + "/" + name;
    auto r = run_command({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path});
    EXPECT_TRUE(r.ok() && r->success());
    return path;
  }

  static inline Sshd* sshd_ = nullptr;
  static inline std::string* start_error_ = nullptr;
  CancelToken cancel_;
  std::string tmp_;
};

// Deterministic, incompressible-looking bytes; fast enough not to dominate the timings.
void fill_pattern(std::span<std::uint8_t> buf, std::uint64_t& state) {
  for (std::size_t i = 0; i + 8 <= buf.size(); i += 8) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    std::memcpy(buf.data() + i, &state, 8);
  }
}

std::string sha256_hex(const std::vector<std::uint8_t>& data) {
  unsigned char d[32];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), d, &len, EVP_sha256(), nullptr);
  std::string hex;
  char b[3];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(b, sizeof b, "%02x", d[i]);
    hex += b;
  }
  return hex;
}

TEST_F(SshSessionTest, NegotiatesFastCipherAndReportsExitStatus) {
  auto s = connect(sshd_->target());
  ASSERT_TRUE(s);
  EXPECT_EQ(s->algorithms(), "aes128-ctr hmac-sha2-256 ssh-ed25519");
  EXPECT_EQ(s->host_key_fingerprint(), sshd_->fingerprint());
  EXPECT_FALSE(s->host_key_added());

  auto ok = s->exec("echo hello");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  std::vector<std::uint8_t> buf(64);
  auto n = (*ok)->read_full(buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf.begin(), buf.begin() + static_cast<long>(*n)), "hello\n");
  EXPECT_TRUE((*ok)->check_exit().ok());
  EXPECT_EQ((*ok)->exit_status(), 0);
  ok->reset();

  // Several commands, one after another, on the same session.
  auto bad = s->exec("echo 'zfs: dataset is busy' >&2; exit 3");
  ASSERT_TRUE(bad.ok());
  Status st = (*bad)->check_exit();
  EXPECT_EQ(st.code(), Errc::child_failed);
  EXPECT_EQ((*bad)->exit_status(), 3);
  EXPECT_NE(st.message().find("exited with status 3"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("zfs: dataset is busy"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("127.0.0.1:" + std::to_string(sshd_->port())), std::string::npos) << st.message();

  auto killed = s->exec("kill -KILL $$");
  ASSERT_TRUE(killed.ok());
  EXPECT_EQ((*killed)->check_exit().code(), Errc::child_failed);
  EXPECT_EQ((*killed)->exit_signal(), "KILL");
}

TEST_F(SshSessionTest, QuotesArgumentsForTheRemoteShell) {
  auto s = connect(sshd_->target());
  ASSERT_TRUE(s);
  std::vector<std::string> argv = {"printf", "%s|", "a b", "it's", "$(echo pwned)", ";echo pwned", "`id`", "*", "~"};
  auto line = remote_command_line(argv);
  ASSERT_TRUE(line.ok());
  auto ch = s->exec(*line);
  ASSERT_TRUE(ch.ok());
  std::vector<std::uint8_t> buf(256);
  auto n = (*ch)->read_full(buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf.begin(), buf.begin() + static_cast<long>(*n)), "a b|it's|$(echo pwned)|;echo pwned|`id`|*|~|");
  EXPECT_TRUE((*ch)->check_exit().ok());

  EXPECT_EQ(remote_command_line({"zfs", "recv", "pool/a\nrm -rf /"}).status().code(), Errc::invalid_argument);
}

TEST_F(SshSessionTest, PullsAndPushesWithChecksums) {
  auto s = connect(sshd_->target());
  ASSERT_TRUE(s);
  constexpr std::size_t kSize = 64u << 20;

  // Pull: the remote writes, we read.
  auto pull = s->exec("head -c " + std::to_string(kSize) + " /dev/zero");
  ASSERT_TRUE(pull.ok());
  std::vector<std::uint8_t> buf(1 << 20);
  std::size_t total = 0;
  bool zeros = true;
  for (;;) {
    auto n = (*pull)->read_full(buf);
    ASSERT_TRUE(n.ok()) << n.status().message();
    for (std::size_t i = 0; i < *n; ++i) zeros &= buf[i] == 0;
    total += *n;
    if (*n < buf.size()) break;
  }
  EXPECT_EQ(total, kSize);
  EXPECT_TRUE(zeros);
  EXPECT_TRUE((*pull)->eof());
  EXPECT_TRUE((*pull)->check_exit().ok());
  pull->reset();

  // Push: we write, the remote checksums what it got.
  std::vector<std::uint8_t> data(kSize);
  std::uint64_t state = 88172645463325252ull;
  fill_pattern(data, state);
  auto push = s->exec("sha256sum");
  ASSERT_TRUE(push.ok());
  for (std::size_t off = 0; off < data.size(); off += 1 << 20) {
    Status st = (*push)->write_all(std::span(data).subspan(off, 1 << 20));
    ASSERT_TRUE(st.ok()) << st.message();
  }
  ASSERT_TRUE((*push)->send_eof().ok());
  std::vector<std::uint8_t> out(200);
  auto n = (*push)->read_full(out);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(out.begin(), out.begin() + 64), sha256_hex(data));
  EXPECT_TRUE((*push)->check_exit().ok());
}

// Both directions at once on one channel, from one thread: write a piece, take whatever came
// back, and block on the return path only when too much is in flight.
TEST_F(SshSessionTest, CatRoundTripInterleaved) {
  auto s = connect(sshd_->target());
  ASSERT_TRUE(s);
  auto ch = s->exec("cat");
  ASSERT_TRUE(ch.ok());
  constexpr std::size_t kSize = 64u << 20, kPiece = 256u << 10;
  std::vector<std::uint8_t> piece(kPiece), back(1 << 20);
  std::uint64_t state = 0x9E3779B97F4A7C15ull;
  XXH3_state_t* sent_hash = XXH3_createState();
  XXH3_state_t* got_hash = XXH3_createState();
  XXH3_64bits_reset(sent_hash);
  XXH3_64bits_reset(got_hash);
  std::size_t sent = 0, got = 0;
  auto take = [&](bool wait) {
    auto n = (*ch)->read_some(back, wait);
    EXPECT_TRUE(n.ok()) << n.status().message();
    if (!n.ok()) return false;
    XXH3_64bits_update(got_hash, back.data(), *n);
    got += *n;
    return *n > 0;
  };
  while (sent < kSize) {
    fill_pattern(piece, state);
    ASSERT_TRUE((*ch)->write_all(piece).ok());
    XXH3_64bits_update(sent_hash, piece.data(), piece.size());
    sent += piece.size();
    take(false);
    while (sent - got > (4u << 20)) ASSERT_TRUE(take(true));
  }
  ASSERT_TRUE((*ch)->send_eof().ok());
  while (got < sent && take(true)) {
  }
  EXPECT_EQ(got, sent);
  EXPECT_EQ(XXH3_64bits_digest(got_hash), XXH3_64bits_digest(sent_hash));
  XXH3_freeState(sent_hash);
  XXH3_freeState(got_hash);
  EXPECT_TRUE((*ch)->check_exit().ok());
}

// A command that stops reading must fail the writer, not leave it waiting for a window that
// will never open.
TEST_F(SshSessionTest, WriteFailsWhenTheCommandExits) {
  auto s = connect(sshd_->target());
  ASSERT_TRUE(s);
  auto ch = s->exec("head -c 1000 >/dev/null; echo 'cannot receive: out of space' >&2; exit 1");
  ASSERT_TRUE(ch.ok());
  std::vector<std::uint8_t> data(1 << 20, 'x');
  Status st;
  auto start = Clock::now();
  for (int i = 0; i < 64 && st.ok(); ++i) st = (*ch)->write_all(data);
  EXPECT_EQ(st.code(), Errc::io) << st.message();
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(20));
  Status exit = (*ch)->check_exit();
  EXPECT_EQ((*ch)->exit_status(), 1);
  EXPECT_NE(exit.message().find("out of space"), std::string::npos) << exit.message();
}

TEST_F(SshSessionTest, UnknownHostKeyIsRefusedWithFingerprint) {
  SshTarget t = sshd_->target();
  t.known_hosts = tmp_ + "/empty_known_hosts";
  write_file(t.known_hosts, "# nothing here\n");
  auto s = SshSession::connect(t, cancel_);
  ASSERT_FALSE(s.ok());
  const std::string msg = s.status().message();
  EXPECT_EQ(s.status().code(), Errc::host_key);
  EXPECT_NE(msg.find(sshd_->fingerprint()), std::string::npos) << msg;
  EXPECT_NE(msg.find("--accept-new-host-key"), std::string::npos) << msg;
  EXPECT_NE(msg.find("ssh-keyscan -p " + std::to_string(t.port)), std::string::npos) << msg;
  EXPECT_EQ(read_file(t.known_hosts), "# nothing here\n");
}

TEST_F(SshSessionTest, ChangedHostKeyIsRefusedEvenWithAcceptNew) {
  SshTarget t = sshd_->target();
  std::string other = new_key("other_host_key");
  std::istringstream pub(read_file(other + ".pub"));
  std::string type, b64;
  pub >> type >> b64;
  t.known_hosts = tmp_ + "/changed_known_hosts";
  const std::string entry = "[127.0.0.1]:" + std::to_string(t.port) + " " + type + " " + b64 + "\n";
  write_file(t.known_hosts, entry);
  t.accept_new_host_key = true;
  auto s = SshSession::connect(t, cancel_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Errc::host_key);
  EXPECT_NE(s.status().message().find("HOST KEY CHANGED"), std::string::npos) << s.status().message();
  EXPECT_NE(s.status().message().find(sshd_->fingerprint()), std::string::npos) << s.status().message();
  EXPECT_EQ(read_file(t.known_hosts), entry);
}

TEST_F(SshSessionTest, AcceptNewAddsTheKeyOnce) {
  SshTarget t = sshd_->target();
  t.known_hosts = tmp_ + "/dot-ssh/known_hosts";  // neither the file nor its directory exists
  t.accept_new_host_key = true;
  {
    auto s = connect(t);
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->host_key_added());
  }
  struct stat st {};
  ASSERT_EQ(::stat(t.known_hosts.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string text = read_file(t.known_hosts);
  EXPECT_EQ(text.rfind("[127.0.0.1]:" + std::to_string(t.port) + " ssh-ed25519 AAAA", 0), 0u) << text;

  t.accept_new_host_key = false;
  auto again = connect(t);
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->host_key_added());
  EXPECT_EQ(read_file(t.known_hosts), text);
  // What we wrote, OpenSSH reads.
  auto r = run_command({"ssh-keygen", "-F", "[127.0.0.1]:" + std::to_string(t.port), "-f", t.known_hosts});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->success()) << r->err;
}

// The fixture's sshd has only an ed25519 key. A known_hosts that knows the host by ecdsa alone
// is what a man in the middle offering a type we never saw looks like: refused, even with
// accept-new, naming the line that knows the host.
TEST_F(SshSessionTest, HostKnownByAnotherKeyTypeIsRefusedWithAcceptNew) {
  SshTarget t = sshd_->target();
  const std::string key = tmp_ + "/other_type_key";
  auto r = run_command({"ssh-keygen", "-q", "-t", "ecdsa", "-N", "", "-f", key});
  ASSERT_TRUE(r.ok() && r->success());
  std::istringstream pub(read_file(key + ".pub"));
  std::string type, b64;
  pub >> type >> b64;
  ASSERT_EQ(type, "ecdsa-sha2-nistp256");
  t.known_hosts = tmp_ + "/other_type_known_hosts";
  const std::string text = "# known by ecdsa only\n[127.0.0.1]:" + std::to_string(t.port) + " " + type + " " + b64 + "\n";
  write_file(t.known_hosts, text);
  t.accept_new_host_key = true;
  auto s = SshSession::connect(t, cancel_);
  ASSERT_FALSE(s.ok());
  const std::string msg = s.status().message();
  EXPECT_EQ(s.status().code(), Errc::host_key);
  EXPECT_NE(msg.find("HOST KEY CHANGED"), std::string::npos) << msg;
  EXPECT_NE(msg.find("ssh-ed25519 key " + sshd_->fingerprint()), std::string::npos) << msg;
  EXPECT_NE(msg.find("ecdsa-sha2-nistp256 key in " + t.known_hosts + ":2"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  EXPECT_EQ(read_file(t.known_hosts), text);
}

// The control connection and the data lanes connect at once: one of them records the key, the
// others check against it (a second line would mean each trusted what it was shown).
TEST_F(SshSessionTest, ParallelAcceptNewRecordsOneLine) {
  SshTarget t = sshd_->target();
  t.known_hosts = tmp_ + "/parallel/known_hosts";
  t.accept_new_host_key = true;
  constexpr int kConnections = 5;  // below sshd's MaxStartups (10)
  std::vector<std::unique_ptr<SshSession>> sessions(kConnections);
  std::vector<std::string> errors(kConnections);
  std::vector<std::thread> threads;
  for (int i = 0; i < kConnections; ++i)
    threads.emplace_back([&, i] {
      auto s = SshSession::connect(t, cancel_);
      if (s.ok()) {
        sessions[i] = std::move(*s);
      } else {
        errors[i] = s.status().message();
      }
    });
  for (auto& th : threads) th.join();
  int added = 0;
  for (int i = 0; i < kConnections; ++i) {
    ASSERT_TRUE(sessions[i]) << errors[i];
    added += sessions[i]->host_key_added() ? 1 : 0;
  }
  EXPECT_EQ(added, 1);
  const std::string text = read_file(t.known_hosts);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  EXPECT_EQ(text.rfind("[127.0.0.1]:" + std::to_string(t.port) + " ssh-ed25519 AAAA", 0), 0u) << text;
}

TEST_F(SshSessionTest, HashedEntryAfterLinesLibssh2CannotParse) {
  SshTarget t = sshd_->target();
  const std::string file = tmp_ + "/hashed_known_hosts";
  write_file(file, read_file(t.known_hosts));
  auto r = run_command({"ssh-keygen", "-H", "-f", file});
  ASSERT_TRUE(r.ok() && r->success()) << (r.ok() ? r->err : "");
  std::string hashed = read_file(file);
  ASSERT_NE(hashed.find("|1|"), std::string::npos) << hashed;
  ASSERT_EQ(hashed.find("[127.0.0.1]"), std::string::npos) << hashed;
  // libssh2_knownhost_readfile() gives up at a truncated line like the second one; the entry
  // after it must still count.
  std::string ca = read_file(new_key("ca") + ".pub");
  write_file(file, "@cert-authority *.example.com " + ca + "truncated.example ssh-ed25519\n" + hashed);
  t.known_hosts = file;
  auto s = connect(t);
  EXPECT_TRUE(s);
}

TEST_F(SshSessionTest, WrongUserKeyIsAnAuthError) {
  SshTarget t = sshd_->target();
  const std::string locked = tmp_ + "/locked";
  auto made = run_command({"ssh-keygen", "-q", "-t", "ed25519", "-N", "secret", "-f", locked});
  ASSERT_TRUE(made.ok() && made->success());
  t.identity_files = {new_key("stranger"), tmp_ + "/no_such_key", locked};
  auto s = SshSession::connect(t, cancel_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Errc::auth);
  const std::string msg = s.status().message();
  EXPECT_NE(msg.find("authentication failed for " + t.user + "@127.0.0.1:" + std::to_string(t.port)), std::string::npos) << msg;
  EXPECT_NE(msg.find("stranger"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no_such_key (missing)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("locked (unreadable or passphrase-protected"), std::string::npos) << msg;
}

// ssh-agent is tried first, and a key it holds is enough.
TEST_F(SshSessionTest, AuthenticatesWithAgent) {
  const std::string sock = tmp_ + "/agent.sock";
  ProcessSpec spec;
  spec.argv = {"ssh-agent", "-D", "-a", sock};
  spec.null_stdout = true;
  auto agent = Subprocess::spawn(spec);
  ASSERT_TRUE(agent.ok());
  for (int i = 0; i < 100 && !fs::exists(sock); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(fs::exists(sock));
  auto added = run_command({"env", "SSH_AUTH_SOCK=" + sock, "ssh-add", "-q", sshd_->var("SSH_KEY")});
  ASSERT_TRUE(added.ok() && added->success()) << (added.ok() ? added->err : "");

  const char* saved = std::getenv("SSH_AUTH_SOCK");
  std::string saved_value = saved ? saved : "";
  ::setenv("SSH_AUTH_SOCK", sock.c_str(), 1);
  SshTarget t = sshd_->target();
  t.use_agent = true;
  t.identity_files = {tmp_ + "/no_such_key"};
  auto s = SshSession::connect(t, cancel_);
  EXPECT_TRUE(s.ok()) << s.status().message();

  // An agent without the right key is reported as tried.
  auto cleared = run_command({"env", "SSH_AUTH_SOCK=" + sock, "ssh-add", "-q", "-D"});
  ASSERT_TRUE(cleared.ok());
  auto added2 = run_command({"env", "SSH_AUTH_SOCK=" + sock, "ssh-add", "-q", new_key("stranger")});
  ASSERT_TRUE(added2.ok() && added2->success());
  auto refused = SshSession::connect(t, cancel_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Errc::auth);
  EXPECT_NE(refused.status().message().find("(tried: agent, "), std::string::npos) << refused.status().message();

  if (saved) ::setenv("SSH_AUTH_SOCK", saved_value.c_str(), 1);
  else ::unsetenv("SSH_AUTH_SOCK");
}

// "localhost" resolves to ::1 first on most systems, where nothing listens; the next address
// must be tried. Keys are filed under the name the user typed.
TEST_F(SshSessionTest, TriesEveryAddressOfAName) {
  SshTarget t = sshd_->target();
  t.host = "localhost";
  t.known_hosts = tmp_ + "/known_hosts";
  t.accept_new_host_key = true;
  auto s = connect(t);
  ASSERT_TRUE(s);
  EXPECT_EQ(read_file(t.known_hosts).rfind("[localhost]:" + std::to_string(t.port) + " ssh-ed25519 ", 0), 0u);
}

TEST_F(SshSessionTest, ClosedPortIsANetworkError) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);  // bound, never listening: the port is closed
  SshTarget t = sshd_->target();
  t.port = ntohs(addr.sin_port);
  auto s = SshSession::connect(t, cancel_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Errc::network);
  EXPECT_EQ(s.status().message(), "cannot connect to 127.0.0.1:" + std::to_string(t.port) + ": Connection refused");

  t.host = "no-such-host.invalid";
  s = SshSession::connect(t, cancel_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Errc::network);
  EXPECT_NE(s.status().message().find("no-such-host.invalid"), std::string::npos) << s.status().message();
}

TEST_F(SshSessionTest, ReadSomeTimesOutWithoutHarm) {
  auto s = connect(sshd_->target());
  ASSERT_TRUE(s);
  auto ch = s->exec("sleep 1; echo late");
  ASSERT_TRUE(ch.ok());
  std::vector<std::uint8_t> buf(64);
  auto start = Clock::now();
  auto n = (*ch)->read_some(buf, std::chrono::milliseconds(100));
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, 0u);
  EXPECT_FALSE((*ch)->eof());
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(900));
  n = (*ch)->read_some(buf, false);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  n = (*ch)->read_some(buf, std::chrono::seconds(10));
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(std::string(buf.begin(), buf.begin() + static_cast<long>(*n)), "late\n");
  EXPECT_TRUE((*ch)->check_exit().ok());
  EXPECT_TRUE((*ch)->eof());
  EXPECT_TRUE(s->broken().ok());
}

TEST_F(SshSessionTest, CancelInterruptsABlockedRead) {
  auto s = connect(sshd_->target());
  ASSERT_TRUE(s);
  auto ch = s->exec("sleep 30");
  ASSERT_TRUE(ch.ok());
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel_.cancel(Status(Errc::interrupted, "test cancelled"));
  });
  auto start = Clock::now();
  std::vector<std::uint8_t> buf(100);
  auto n = (*ch)->read_full(buf);
  canceller.join();
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), Errc::interrupted);
  EXPECT_EQ(n.status().message(), "test cancelled");
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
  // The session is spent: later calls fail at once, and teardown does not wait on the peer.
  EXPECT_EQ((*ch)->write_all(buf).code(), Errc::interrupted);
  ch->reset();
  auto teardown = Clock::now();
  s.reset();
  EXPECT_LT(Clock::now() - teardown, std::chrono::seconds(2));
}

// sshd renegotiates keys every RekeyLimit bytes; long transfers cross many such points.
TEST_F(SshSessionTest, SurvivesServerRekeying) {
  auto sshd = Sshd::start("RekeyLimit 4M");
  ASSERT_TRUE(sshd.ok()) << sshd.status().message();
  auto s = connect((*sshd)->target());
  ASSERT_TRUE(s);
  auto ch = s->exec("cat");
  ASSERT_TRUE(ch.ok());
  std::vector<std::uint8_t> piece(256 << 10), back(256 << 10);
  std::uint64_t state = 12345;
  for (int i = 0; i < 128; ++i) {  // 32 MiB each way
    fill_pattern(piece, state);
    ASSERT_TRUE((*ch)->write_all(piece).ok());
    auto n = (*ch)->read_full(back);
    ASSERT_TRUE(n.ok()) << n.status().message();
    ASSERT_EQ(*n, back.size());
    ASSERT_EQ(back, piece) << "at piece " << i;
  }
  EXPECT_TRUE((*ch)->check_exit().ok());
}

// Not a pass/fail test: numbers for choosing defaults (MB = 10^6 bytes). The push clock starts
// once the remote command has produced its first byte, because starting a command costs ~0.5 s
// here (bash reads root's ~/.bashrc) and that is paid once per connection, not per byte.
TEST_F(SshSessionTest, Throughput) {
  constexpr std::size_t kSize = 256u << 20;
  auto s = connect(sshd_->target());
  ASSERT_TRUE(s);
  std::vector<std::uint8_t> buf(1 << 20);
  std::uint64_t state = 42;
  fill_pattern(buf, state);

  auto push = s->exec("echo ready; exec cat > /dev/null");
  ASSERT_TRUE(push.ok());
  std::vector<std::uint8_t> ready(6);
  ASSERT_TRUE((*push)->read_full(ready).ok());
  auto t0 = Clock::now();
  double first_8m_s = 0;
  for (std::size_t off = 0; off < kSize; off += buf.size()) {
    ASSERT_TRUE((*push)->write_all(buf).ok());
    if (off + buf.size() == (8u << 20)) first_8m_s = std::chrono::duration<double>(Clock::now() - t0).count();
  }
  ASSERT_TRUE((*push)->check_exit().ok());
  double push_s = std::chrono::duration<double>(Clock::now() - t0).count();
  push->reset();
  std::printf("[ throughput ] push 256 MiB: %.0f MB/s, %.0f MB/s after the first 8 MiB (%s)\n", kSize / push_s / 1e6,
              (kSize - (8u << 20)) / (push_s - first_8m_s) / 1e6, s->algorithms().c_str());

  struct Case {
    std::uint32_t window;
    std::size_t read_size;
  };
  for (Case c : {Case{SshSession::kDefaultWindow, 1u << 20}, Case{SshSession::kDefaultWindow, 32u << 10}, Case{4u << 20, 32u << 10}}) {
    auto pull = s->exec("head -c " + std::to_string(kSize) + " /dev/zero", c.window);
    ASSERT_TRUE(pull.ok());
    std::span<std::uint8_t> into(buf.data(), c.read_size);
    t0 = Clock::now();
    std::size_t total = 0;
    for (;;) {
      auto n = (*pull)->read_full(into);
      ASSERT_TRUE(n.ok());
      total += *n;
      if (*n < into.size()) break;
    }
    double pull_s = std::chrono::duration<double>(Clock::now() - t0).count();
    ASSERT_EQ(total, kSize);
    ASSERT_TRUE((*pull)->check_exit().ok());
    std::printf("[ throughput ] pull 256 MiB, %u MiB window, %zu KiB reads: %.0f MB/s\n", c.window >> 20, c.read_size >> 10,
                kSize / pull_s / 1e6);
  }
}

// --- known_hosts helpers, without sshd ---

std::vector<std::uint8_t> blob_of(const std::string& pub_file) {
  std::istringstream pub(read_file(pub_file));
  std::string type, b64;
  pub >> type >> b64;
  std::vector<std::uint8_t> out(b64.size());
  int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size()));
  out.resize(static_cast<std::size_t>(n) - (b64.ends_with("==") ? 2 : b64.ends_with("=") ? 1 : 0));
  return out;
}

TEST(KnownHosts, NamesAndFingerprintsLikeOpenSSH) {
  EXPECT_EQ(known_hosts_name("Backup.Example.COM", 22), "backup.example.com");
  EXPECT_EQ(known_hosts_name("10.0.0.5", 2222), "[10.0.0.5]:2222");
  EXPECT_EQ(known_hosts_name("::1", 2222), "[::1]:2222");

  char tmpl[] = "/tmp/pgm-kh-test.XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = tmpl, key = dir + "/k";
  auto r = run_command({"ssh-keygen", "-q", "-t", "ecdsa", "-N", "", "-f", key});
  ASSERT_TRUE(r.ok() && r->success());
  auto blob = blob_of(key + ".pub");
  EXPECT_EQ(key_blob_type(blob), "ecdsa-sha2-nistp256");
  auto fp = run_command({"ssh-keygen", "-l", "-E", "sha256", "-f", key + ".pub"});
  ASSERT_TRUE(fp.ok());
  EXPECT_NE(fp->out.find(" " + sha256_fingerprint(blob) + " "), std::string::npos) << fp->out;

  // Key types on file for a host, hashed or not, in order.
  auto pub_line = [&](const std::string& type) {
    std::string k = dir + "/" + type;
    auto made = run_command({"ssh-keygen", "-q", "-t", type, "-N", "", "-f", k});
    EXPECT_TRUE(made.ok() && made->success());
    std::istringstream words(read_file(k + ".pub"));
    std::string t, b;
    words >> t >> b;
    return t + " " + b + "\n";
  };
  write_file(dir + "/kh",
             "# comment\n"
             "other.example " +
                 pub_line("rsa") + "alpha.example,[alpha.example]:2222 " + pub_line("ecdsa") + "[alpha.example]:2222 " +
                 pub_line("ed25519"));
  auto types = known_key_types({dir + "/kh", dir + "/missing"}, "[alpha.example]:2222");
  EXPECT_EQ(types, (std::vector<std::string>{"ecdsa-sha2-nistp256", "ssh-ed25519"}));
  r = run_command({"ssh-keygen", "-H", "-f", dir + "/kh"});
  ASSERT_TRUE(r.ok() && r->success());
  EXPECT_EQ(known_key_types({dir + "/kh"}, "[alpha.example]:2222"), types);
  EXPECT_EQ(known_key_types({dir + "/kh"}, "alpha.example"), std::vector<std::string>{"ecdsa-sha2-nistp256"});
  EXPECT_TRUE(known_key_types({dir + "/kh"}, "[alpha.example]:22").empty());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pgm::transport
