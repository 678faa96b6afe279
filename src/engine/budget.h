// A cancellable counting semaphore that bounds how many chunks exist at once in a pipeline.
// Each slot stands for one chunk's buffers, so slots x chunk size bounds the memory.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <utility>

#include "common/cancel.h"

namespace pgm::engine {

class ChunkBudget {
 public:
  explicit ChunkBudget(std::size_t slots) : free_(slots ? slots : 1) {}

  // Blocks until a slot is free; false if cancelled first.
  bool acquire(const CancelToken& cancel) {
    std::unique_lock<std::mutex> lock(mu_);
    while (free_ == 0) {
      if (cancel.cancelled()) return false;
      cv_.wait_for(lock, std::chrono::milliseconds(50));
    }
    --free_;
    return true;
  }
  void release() {
    std::lock_guard<std::mutex> lock(mu_);
    ++free_;
    cv_.notify_one();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::size_t free_;
};

// Owns one slot; gives it back when destroyed. Travels with the chunk it stands for.
class BudgetSlot {
 public:
  BudgetSlot() = default;
  explicit BudgetSlot(ChunkBudget* budget) : budget_(budget) {}
  ~BudgetSlot() {
    if (budget_) budget_->release();
  }
  BudgetSlot(BudgetSlot&& o) noexcept : budget_(std::exchange(o.budget_, nullptr)) {}
  BudgetSlot& operator=(BudgetSlot&& o) noexcept {
    if (this != &o) {
      if (budget_) budget_->release();
      budget_ = std::exchange(o.budget_, nullptr);
    }
    return *this;
  }
  BudgetSlot(const BudgetSlot&) = delete;
  BudgetSlot& operator=(const BudgetSlot&) = delete;

 private:
  ChunkBudget* budget_ = nullptr;
};

}  // namespace pgm::engine
