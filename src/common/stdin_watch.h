// A receive that must end when whoever started it goes away: under sshd, this process's stdin
// ends when the near side closes it or its connection drops (a killed `migrate run`), and
// StdinWatch turns that end into a cancellation. What arrives on stdin meanwhile is discarded.
#pragma once

#include <thread>

#include "common/cancel.h"

namespace pgm {

// Cancels `cancel` once fd 0 reaches its end (or fails), for as long as it lives; `cancel` must
// outlive it. The destructor stops the watching thread without touching `cancel`.
class StdinWatch {
 public:
  explicit StdinWatch(CancelToken& cancel);
  ~StdinWatch();
  StdinWatch(const StdinWatch&) = delete;
  StdinWatch& operator=(const StdinWatch&) = delete;

 private:
  void watch(CancelToken& cancel);

  CancelToken stop_;
  std::thread thread_;
};

}  // namespace pgm
