#pragma once
/// HugeBuffer<T>: raw storage for n objects of T, mapped once with
/// anonymous mmap and advised to use transparent huge pages. The flow table
/// touches its pool and hash slots at random; with 4 KiB pages almost every
/// packet would also miss the TLB. Pages are faulted in when first written,
/// so resident memory follows use. Objects are not constructed: the owner
/// constructs them in place. Move-only; unmaps on destruction.

#include <sys/mman.h>

#include <cstddef>
#include <new>
#include <utility>

namespace edgesense::flow {

template <class T>
class HugeBuffer {
 public:
  HugeBuffer() = default;
  explicit HugeBuffer(std::size_t n) : bytes_(n * sizeof(T)) {
    if (bytes_ == 0) return;
    void* p = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    madvise(p, bytes_, MADV_HUGEPAGE);  // a hint; fine where THP is off
    data_ = static_cast<T*>(p);
  }
  HugeBuffer(HugeBuffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  HugeBuffer& operator=(HugeBuffer&& o) noexcept {
    if (this != &o) {
      release();
      data_ = std::exchange(o.data_, nullptr);
      bytes_ = std::exchange(o.bytes_, 0);
    }
    return *this;
  }
  HugeBuffer(const HugeBuffer&) = delete;
  HugeBuffer& operator=(const HugeBuffer&) = delete;
  ~HugeBuffer() { release(); }

  T* data() const noexcept { return data_; }
  T& operator[](std::size_t i) const noexcept { return data_[i]; }

 private:
  void release() noexcept {
    if (data_ != nullptr) munmap(data_, bytes_);
    data_ = nullptr;
  }

  T* data_ = nullptr;
  std::size_t bytes_ = 0;
};

}  // namespace edgesense::flow
