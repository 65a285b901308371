// Note [Storage]: a reference-counted byte buffer. Tensors are views on a
// Storage (shape, strides, offset); many views may share one. A Storage
// either owns 64-byte-aligned memory from the caching allocator, or borrows
// memory owned by someone else (a numpy array) and calls `release` when the
// last view is gone.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

namespace tt {

constexpr size_t kAlignment = 64;

struct Storage {
  void* data = nullptr;
  size_t nbytes = 0;
  std::function<void()> release;  // set for borrowed memory
  bool cached = false;            // memory came from the caching allocator

  Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage();

  static std::shared_ptr<Storage> allocate(size_t nbytes);
  static std::shared_ptr<Storage> borrow(void* data, size_t nbytes, std::function<void()> release);
};

// kAlignment-aligned memory for `bytes` (a multiple of kAlignment), released
// with std::free; null when the system has none. Blocks from 4 MB up are
// 2 MB-aligned and marked for transparent huge pages on Linux, as numpy marks
// its arrays: a 2048 x 2048 float matrix spans 4096 pages of 4 KB, more than
// the second-level TLB holds. Paired runs (old and new build in alternating
// processes) on 64 MB arrays, 2 threads: tanh 28 -> 33.5 GB/s, add 28-33 ->
// 35-36, relu 29-33.5 -> 34-38 (3 of 3 rounds each); matmul of tinytf-made
// 1024^2 and 2048^2 matrices on one thread 0.6-0.8% faster (7 of 10).
void* aligned_block(size_t bytes);

// Caching allocator statistics (for tests of the "no allocation per step" promise).
struct AllocatorStats {
  int64_t fresh_allocations;  // calls that had to ask the system for memory
  int64_t cached_bytes;       // bytes held in free lists right now
};
AllocatorStats allocator_stats();
void allocator_empty_cache();

}  // namespace tt
