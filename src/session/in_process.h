// A far host in this process: the far halves (`_serve recv`, `_serve send`) and their lanes
// (`_lane`) run on threads, each command's stdin/stdout a socketpair, so that the session
// can be tested whole without sshd. It plugs in where SSH does, as the Remote's ConnectFn;
// what a command line would tell the far half comes typed in InProcessFar instead (only the
// command's verb and a lane's socket are read from the line).
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include "pgmigrate/session.h"

namespace pgm::session {

struct InProcessFar {
  sink::SinkSpec sink;        // for `_serve recv`
  source::SourceSpec source;  // for `_serve send`
  TransferParams params;
  std::chrono::milliseconds wait_for_sender{0};
};

class InProcessHost {
 public:
  explicit InProcessHost(InProcessFar far);
  // Cancels the far commands still running and joins them.
  ~InProcessHost();
  InProcessHost(const InProcessHost&) = delete;
  InProcessHost& operator=(const InProcessHost&) = delete;

  // Connections to this host. REQUIRES: the host outlives every transfer that uses them.
  ConnectFn connector();
  // Breaks the control connections that far halves hold now, as an outage would: the near
  // side sees its connection fail, the far half sees its input end. Thread-safe.
  void break_control();
  // How the `_serve` commands ended, in the order they started; waits for each to end.
  std::vector<Status> serve_results();

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace pgm::session
