// Pieces shared by the near halves of remote transfers (push.cc, pull.cc) and the far
// halves that sshd starts (far.cc). Internal to session/ (what migrate/ needs of it for the far
// commands it runs itself is in far_command.h).
#pragma once

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "common/cancel.h"
#include "common/elevation.h"
#include "pgmigrate/session.h"
#include "session/far_command.h"
#include "transport/control.h"
#include "transport/lane_socket.h"
#include "transport/tls.h"
#include "zfs/zfs.h"

namespace pgm::session {

// How often control loops wake to send acks and look at their lanes.
inline constexpr std::chrono::milliseconds kTick(100);
// How long either half waits for the other's first message.
inline constexpr std::chrono::milliseconds kHandshakeTimeout(120'000);

// Chunks the receiving pipeline refused, waiting to be asked for again on the control
// channel (filled by decoder threads, drained by the thread that owns the channel).
class NackQueue {
 public:
  void push(std::uint64_t seq, const Status& why) {
    std::lock_guard<std::mutex> lock(mu_);
    items_.emplace_back(seq, why.message());
  }
  Status flush(transport::ControlChannel& ctl) {
    std::vector<std::pair<std::uint64_t, std::string>> items;
    {
      std::lock_guard<std::mutex> lock(mu_);
      items.swap(items_);
    }
    for (const auto& [seq, why] : items) {
      spdlog::warn("chunk {} failed verification ({}); asking for it again", seq, why);
      PGM_RETURN_IF_ERROR(ctl.send(nlohmann::json{{"type", "nack"}, {"seq", seq}, {"reason", why}}));
    }
    return Status::Ok();
  }

 private:
  std::mutex mu_;
  std::vector<std::pair<std::uint64_t, std::string>> items_;
};

// Accepts lanes until `stop` and runs `body` for each on its own thread: lanes that come
// through sshd (`_lane` hands over the channel's pipes) and, with --tls-port, direct TLS
// connections. The body sees only the lane's bytes, whichever way they came.
struct LaneAcceptor {
  using Body = std::function<Status(ByteReader& in, ByteWriter& out, unsigned id)>;
  // A lane's or handshake's thread; `done` is set as it ends, so that it can be joined then
  // instead of at the end of the transfer (a flood of strangers must not pile up threads).
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<Worker> threads;
  std::thread acceptor, tls_acceptor;
  std::atomic<bool> stop{false};
  std::atomic<unsigned> running{0}, finished{0};
  std::atomic<int> handshaking{0};
  static constexpr int kMaxHandshakes = 16;
  std::mutex mu;
  // A resuming sender's control connection ('C'), handed over by another `_serve recv`.
  // Unset: such connections are refused.
  std::function<void(transport::LaneFds&&)> on_control;

  void start(transport::LaneListener& listener, CancelToken& cancel, const Body& body) {
    acceptor = std::thread([&, body] {
      while (!stop.load() && !cancel.cancelled()) {
        auto lane = listener.accept(cancel, 200);
        if (!lane) {
          if (lane.status().code() == Errc::timeout) continue;
          if (!cancel.cancelled()) spdlog::warn("refused a data connection: {}", lane.status().message());
          continue;
        }
        if (lane->kind == 'C') {
          if (on_control) on_control(std::move(*lane));
          continue;
        }
        spawn(cancel, [body, l = std::move(*lane), &cancel](unsigned id) mutable {
          FdReader in(l.in.get(), cancel);
          FdWriter out(l.out.get(), cancel);
          Status s = body(in, out, id);
          l.out.reset();
          l.in.reset();
          return s;
        });
      }
    });
  }
  // The handshake runs on the lane's thread: a stranger without the key (a port scanner,
  // say) is refused there without holding up the lanes that follow. Strangers are bounded:
  // at most kMaxHandshakes at once (more are closed at once), each for at most 10 s, and their
  // threads are joined as they end. `allow_from` non-empty: connections from any other address
  // are closed before any handshake (the near host's address, unless lanes are relayed).
  void start_tls(const transport::TlsListener& listener, CancelToken& cancel, const Body& body, const std::string& allow_from = {}) {
    tls_acceptor = std::thread([&, body, allow_from] {
      while (!stop.load() && !cancel.cancelled()) {
        reap();
        std::string peer;
        auto fd = listener.accept(cancel, 200, &peer);
        if (!fd) {
          if (fd.status().code() != Errc::timeout && !cancel.cancelled()) {
            spdlog::warn("refused a TLS data connection: {}", fd.status().message());
            (void)cancel.wait_for(std::chrono::milliseconds(100));  // EMFILE and the like: do not spin
          }
          continue;
        }
        if (!allow_from.empty() && peer != allow_from) continue;  // closes it: not the near host
        if (handshaking.load() >= kMaxHandshakes) continue;       // closes it; a genuine lane retries
        handshaking.fetch_add(1);
        spawn(cancel, [this, body, &listener, &cancel, f = std::move(*fd)](unsigned id) mutable {
          // A genuine lane handshakes in two round trips.
          auto tls = listener.handshake(std::move(f), std::chrono::steady_clock::now() + std::chrono::seconds(10), cancel);
          handshaking.fetch_sub(1);
          if (!tls) {
            if (!cancel.cancelled()) spdlog::warn("refused a TLS data connection: {}", tls.status().message());
            return Status::Ok();
          }
          Status s = body(**tls, **tls, id);
          // Close in order (close_notify both ways), so that no unread byte makes a reset.
          if (s.ok()) (void)(*tls)->wait_exit();
          return s;
        });
      }
    });
  }
  void join() {
    stop.store(true);
    if (acceptor.joinable()) acceptor.join();
    if (tls_acceptor.joinable()) tls_acceptor.join();
    std::lock_guard<std::mutex> lock(mu);
    for (auto& w : threads)
      if (w.thread.joinable()) w.thread.join();
  }

 private:
  // Joins the threads that have ended (they are about to return: joining does not wait).
  void reap() {
    std::lock_guard<std::mutex> lock(mu);
    std::erase_if(threads, [](Worker& w) {
      if (!w.done->load()) return false;
      if (w.thread.joinable()) w.thread.join();
      return true;
    });
  }

  template <typename Fn>
  void spawn(CancelToken& cancel, Fn&& run) {
    const unsigned id = running.fetch_add(1);
    reap();
    std::lock_guard<std::mutex> lock(mu);
    try {
      auto done = std::make_shared<std::atomic<bool>>(false);
      threads.reserve(threads.size() + 1);  // no throw between starting the thread and keeping it
      std::thread t([this, &cancel, id, done, run = std::forward<Fn>(run)]() mutable {
        Status s = run(id);
        if (!s.ok()) cancel.cancel(s);
        finished.fetch_add(1);
        done->store(true);
      });
      threads.push_back(Worker{std::move(t), std::move(done)});
    } catch (const std::system_error& e) {
      // No thread for this lane (resources exhausted): drop it; a sender replaces lanes.
      spdlog::warn("dropped a data connection: cannot start a thread for it: {}", e.what());
      finished.fetch_add(1);
    }
  }
};

// Where the far half's lanes may connect, for its "ready" message: the lane socket (lanes
// through sshd) and, with --tls-port, the TLS port and this transfer's key. The key travels
// only on the control channel, which SSH authenticates and encrypts.
inline nlohmann::json lane_routes(const transport::LaneListener& lanes, const std::optional<transport::TlsListener>& tls) {
  nlohmann::json r{{"socket", lanes.path()}};
  if (tls) r["tls"] = {{"port", tls->port()}, {"key", tls->key().hex()}};
  return r;
}

}  // namespace pgm::session
