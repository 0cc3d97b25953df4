#pragma once
/// BoundedQueue<T>: a fixed-capacity multi-producer multi-consumer queue
/// without locks (Dmitry Vyukov's bounded MPMC design: each cell carries a
/// sequence number that says whose turn it is), plus a counting semaphore
/// so consumers can sleep until an item or a deadline comes. Memory is
/// allocated once; push never allocates and never waits: a full queue is
/// the caller's to count. Orderings are plain acquire/release on the cells,
/// which ThreadSanitizer can check (it cannot check standalone fences).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <semaphore>
#include <thread>

namespace edgesense::inference {

template <class T>
class BoundedQueue {
 public:
  /// Capacity is rounded up to a power of two.
  explicit BoundedQueue(std::size_t capacity) {
    std::size_t n = 2;
    while (n < capacity) n <<= 1;
    mask_ = n - 1;
    cells_ = std::make_unique<Cell[]>(n);
    for (std::size_t i = 0; i < n; ++i) cells_[i].seq.store(i, std::memory_order_relaxed);
  }

  std::size_t capacity() const noexcept { return mask_ + 1; }

  /// Moves `item` in; false (and `item` untouched) when the queue is full.
  bool tryPush(T& item) noexcept {
    std::size_t pos = tail_.load(std::memory_order_relaxed);
    Cell* cell;
    for (;;) {
      cell = &cells_[pos & mask_];
      const std::size_t seq = cell->seq.load(std::memory_order_acquire);
      const auto diff = static_cast<std::intptr_t>(seq) - static_cast<std::intptr_t>(pos);
      if (diff == 0) {
        if (tail_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
      } else if (diff < 0) {
        return false;  // the cell still holds an item from a lap ago: full
      } else {
        pos = tail_.load(std::memory_order_relaxed);
      }
    }
    cell->value = std::move(item);
    cell->seq.store(pos + 1, std::memory_order_release);
    items_.release();
    return true;
  }

  /// Takes up to `max` items into out[0..), waiting up to `wait` for the
  /// first. Returns how many it took.
  template <class Rep, class Period>
  std::size_t popBulk(T* out, std::size_t max, std::chrono::duration<Rep, Period> wait) {
    if (max == 0 || !items_.try_acquire_for(wait)) return 0;
    std::size_t n = 0;
    do {
      popOne(out[n++]);
    } while (n < max && items_.try_acquire());
    return n;
  }

  /// Items in the queue, roughly (for metrics).
  std::size_t sizeApprox() const noexcept {
    const std::size_t tail = tail_.load(std::memory_order_relaxed);
    const std::size_t head = head_.load(std::memory_order_relaxed);
    return tail > head ? tail - head : 0;
  }

 private:
  struct Cell {
    std::atomic<std::size_t> seq{0};
    T value{};
  };

  /// Takes one item; one is there (the semaphore said so), though a producer
  /// may still be writing an earlier cell, so it may have to wait a moment.
  void popOne(T& out) noexcept {
    std::size_t pos = head_.load(std::memory_order_relaxed);
    for (;;) {
      Cell* cell = &cells_[pos & mask_];
      const std::size_t seq = cell->seq.load(std::memory_order_acquire);
      const auto diff = static_cast<std::intptr_t>(seq) - static_cast<std::intptr_t>(pos + 1);
      if (diff == 0) {
        if (head_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          out = std::move(cell->value);
          cell->seq.store(pos + mask_ + 1, std::memory_order_release);
          return;
        }
      } else if (diff < 0) {
        std::this_thread::yield();  // published count is ahead of this cell
        pos = head_.load(std::memory_order_relaxed);
      } else {
        pos = head_.load(std::memory_order_relaxed);
      }
    }
  }

  std::unique_ptr<Cell[]> cells_;
  std::size_t mask_ = 0;
  alignas(64) std::atomic<std::size_t> head_{0};
  alignas(64) std::atomic<std::size_t> tail_{0};
  std::counting_semaphore<> items_{0};
};

}  // namespace edgesense::inference
