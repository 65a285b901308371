#include "storage.h"

#include <cstdlib>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "check.h"

#ifdef __linux__
#include <sys/mman.h>
#endif

namespace tt {
namespace {

// Freed blocks are kept per exact size: a training step asks for the same
// sizes every time, so after the first step nothing new is allocated.
struct CachingAllocator {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;
  size_t cached_bytes = 0;
  int64_t fresh = 0;
  static constexpr size_t kMaxCached = size_t(1) << 30;

  void* get(size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = free_blocks.find(bytes);
      if (it != free_blocks.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        cached_bytes -= bytes;
        return p;
      }
      ++fresh;
    }
    void* p = aligned_block(bytes);
    if (!p) throw memory_error("tinytf: failed to allocate " + std::to_string(bytes) + " bytes");
    return p;
  }

  void put(void* p, size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (cached_bytes + bytes <= kMaxCached) {
        free_blocks[bytes].push_back(p);
        cached_bytes += bytes;
        return;
      }
    }
    std::free(p);
  }

  void empty() {
    std::lock_guard<std::mutex> lock(mu);
    for (auto& kv : free_blocks)
      for (void* p : kv.second) std::free(p);
    free_blocks.clear();
    cached_bytes = 0;
  }
};

CachingAllocator& allocator() {
  static auto* a = new CachingAllocator();  // never destroyed: outlives every Storage
  return *a;
}

size_t round_up(size_t n) { return (n + kAlignment - 1) / kAlignment * kAlignment; }

}  // namespace

Storage::~Storage() {
  if (cached) allocator().put(data, round_up(nbytes ? nbytes : 1));
  else if (release) release();
}

void* aligned_block(size_t bytes) {
#ifdef __linux__
  constexpr size_t kHugePage = size_t(2) << 20;
  if (bytes >= 2 * kHugePage) {
    const size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void* p = std::aligned_alloc(kHugePage, rounded);
    // Only the huge pages the block fills: the tail stays in small pages, so
    // no memory is spent on the rounding. Advice: where THP is off, nothing changes.
    if (p) madvise(p, bytes / kHugePage * kHugePage, MADV_HUGEPAGE);
    return p;
  }
#endif
  return std::aligned_alloc(kAlignment, bytes);
}

std::shared_ptr<Storage> Storage::allocate(size_t nbytes) {
  auto s = std::make_shared<Storage>();
  s->data = allocator().get(round_up(nbytes ? nbytes : 1));
  s->nbytes = nbytes;
  s->cached = true;
  return s;
}

std::shared_ptr<Storage> Storage::borrow(void* data, size_t nbytes, std::function<void()> release) {
  auto s = std::make_shared<Storage>();
  s->data = data;
  s->nbytes = nbytes;
  s->release = std::move(release);
  return s;
}

AllocatorStats allocator_stats() {
  auto& a = allocator();
  std::lock_guard<std::mutex> lock(a.mu);
  return {a.fresh, int64_t(a.cached_bytes)};
}

void allocator_empty_cache() { allocator().empty(); }

}  // namespace tt
