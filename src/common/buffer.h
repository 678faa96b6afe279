// A heap byte buffer with a fixed capacity and a current size. Moved between threads, never
// copied on the data path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace pgm {

class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(std::size_t capacity)
      : data_(capacity ? std::make_unique_for_overwrite<std::uint8_t[]>(capacity) : nullptr), capacity_(capacity) {}

  std::uint8_t* data() { return data_.get(); }
  const std::uint8_t* data() const { return data_.get(); }
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }
  void resize(std::size_t n) { size_ = n <= capacity_ ? n : capacity_; }
  std::span<std::uint8_t> span() { return {data_.get(), size_}; }
  std::span<const std::uint8_t> span() const { return {data_.get(), size_}; }
  std::span<std::uint8_t> whole() { return {data_.get(), capacity_}; }

 private:
  std::unique_ptr<std::uint8_t[]> data_;
  std::size_t capacity_ = 0;
  std::size_t size_ = 0;
};

}  // namespace pgm
