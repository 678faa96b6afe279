#include "transport/lane_socket.h"
#include "common/errno_text.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace pgm::transport {
namespace {

Status sys_error(const std::string& what) { return Status(Errc::io, what + ": " + errno_text(errno)); }

Result<sockaddr_un> address_of(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return Status(Errc::invalid_argument, "socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

}  // namespace

Result<std::string> runtime_dir() {
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");  // NOLINT(concurrency-mt-unsafe): read before threads start
  std::string dir = (xdg && *xdg) ? std::string(xdg) + "/pgmigrate" : "/tmp/pgmigrate-" + std::to_string(::getuid());
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return sys_error("creating " + dir);
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return sys_error("checking " + dir);
  if (!S_ISDIR(st.st_mode) || st.st_uid != ::getuid() || (st.st_mode & 077) != 0)
    return Status(Errc::io, dir + " is not a private directory owned by this user; refusing to use it");
  return dir;
}

LaneListener::~LaneListener() {
  if (!path_.empty()) ::unlink(path_.c_str());
}

Result<LaneListener> LaneListener::listen(const std::string& name) {
  auto dir = runtime_dir();
  if (!dir) return dir.status();
  LaneListener l;
  std::string path = *dir + "/" + name + ".sock";
  auto addr = address_of(path);
  if (!addr) return addr.status();
  ::unlink(path.c_str());
  l.fd_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!l.fd_.valid()) return sys_error("socket");
  if (::bind(l.fd_.get(), reinterpret_cast<sockaddr*>(&*addr), sizeof(*addr)) != 0) return sys_error("bind " + path);
  l.path_ = path;
  if (::listen(l.fd_.get(), 64) != 0) return sys_error("listen " + path);
  return l;
}

Result<LaneFds> LaneListener::accept(const CancelToken& cancel, int timeout_ms) {
  pollfd fds[2] = {{fd_.get(), POLLIN, 0}, {cancel.fd(), POLLIN, 0}};
  int r = ::poll(fds, 2, timeout_ms);
  if (r < 0 && errno != EINTR) return sys_error("poll");
  if (fds[1].revents) return cancel.reason();
  if (r <= 0) return Status(Errc::timeout, "no data connection arrived");
  UniqueFd conn(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn.valid()) return sys_error("accept");
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(conn.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != ::getuid())
    return Status(Errc::auth, "a data connection from another user was refused");

  // One message carrying two fds; a short timeout so a stuck peer cannot block us.
  pollfd pfd{conn.get(), POLLIN, 0};
  if (::poll(&pfd, 1, 10000) <= 0) return Status(Errc::protocol, "a data connection sent no descriptors");
  char byte = 0;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = ::recvmsg(conn.get(), &msg, MSG_CMSG_CLOEXEC);
  if (n != 1) return Status(Errc::protocol, "a data connection sent no descriptors");
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (c == nullptr || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(2 * sizeof(int)))
    return Status(Errc::protocol, "a data connection sent malformed descriptors");
  int got[2];
  std::memcpy(got, CMSG_DATA(c), sizeof got);
  if (byte != 'L' && byte != 'C') {
    ::close(got[0]);
    ::close(got[1]);
    return Status(Errc::protocol, "a connection of unknown kind was refused");
  }
  LaneFds lane{UniqueFd(got[0]), UniqueFd(got[1]), std::move(conn), byte};
  set_nonblocking(lane.out.get(), true);
  // sshd's pipes are 64 KiB: grow them so that sshd drains its channel window in fewer,
  // larger reads and we wake less often (best effort; capped by pipe-max-size).
  (void)::fcntl(lane.in.get(), F_SETPIPE_SZ, 1 << 20);
  (void)::fcntl(lane.out.get(), F_SETPIPE_SZ, 1 << 20);
  return lane;
}

Status attach_lane(const std::string& socket_path, char kind, int in, int out) {
  auto addr = address_of(socket_path);
  if (!addr) return addr.status();
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return sys_error("socket");
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&*addr), sizeof(*addr)) != 0)
    return Status(Errc::not_found, "no transfer is waiting at " + socket_path + " (" + errno_text(errno) + ")");
  char byte = kind;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(2 * sizeof(int));
  int fds[2] = {in, out};
  std::memcpy(CMSG_DATA(c), fds, sizeof fds);
  if (::sendmsg(fd.get(), &msg, MSG_NOSIGNAL) != 1) return sys_error("passing the data connection");
  // Drop our copies (stdin/stdout under sshd): the server holds the channel now, and the far
  // side must see EOF when the server closes them, not when we exit.
  UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (devnull.valid()) {
    ::dup2(devnull.get(), in);
    ::dup2(devnull.get(), out);
  }
  // Wait for the server to close its end (transfer over, or it died).
  for (;;) {
    ssize_t n = ::read(fd.get(), &byte, 1);
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  return Status::Ok();
}

}  // namespace pgm::transport
