#include "parallel.h"

#include <atomic>
#include <cstdlib>
#include <thread>

namespace tt {
namespace {
std::atomic<int> g_threads{0};  // 0 = default
}

int default_num_threads() {
  static const int n = [] {
    if (const char* env = std::getenv("OMP_NUM_THREADS")) {
      int v = std::atoi(env);  // "4,2" (nested list) reads as 4
      if (v > 0) return v;
    }
#ifdef _OPENMP
    return omp_get_num_procs();
#else
    return 1;
#endif
  }();
  return n;
}

int num_threads() {
#ifdef _OPENMP
  int n = g_threads.load(std::memory_order_relaxed);
  return n > 0 ? n : default_num_threads();
#else
  return 1;
#endif
}

void set_num_threads(int n) { g_threads.store(n > 0 ? n : 0, std::memory_order_relaxed); }

}  // namespace tt
