// The threading helpers every kernel uses. parallel_for: work [begin, end)
// is cut into at most num_threads() contiguous ranges, and only when there is
// more than `grain` work items, so tiny ops never pay for waking threads.
// parallel_items (items handed out as threads free up) and parallel_team
// (threads that wait for each other) serve the GEMM.
// Each output element must be computed by exactly one range: then results
// are bitwise identical whatever the thread count. Reductions that need a
// split of their reduced axis use fixed chunk sizes (see kernels/reduce.cpp),
// never the thread count.
// `fn` must not throw: validate arguments before the parallel region.
#pragma once
#include <algorithm>
#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#endif

namespace tt {

// Denormal floats make arithmetic ~50x slower (optimizer moments decay into
// them within a few hundred steps). Kernels flush them to zero, as
// TensorFlow does on CPU; the caller's floating-point state is restored.
struct FlushDenormals {
#if defined(__SSE__) || defined(__x86_64__)
  unsigned saved = _mm_getcsr();
  FlushDenormals() { _mm_setcsr(saved | 0x8040u); }  // FTZ | DAZ
  ~FlushDenormals() { _mm_setcsr(saved); }
#endif
};

int num_threads();            // threads a kernel may use now
void set_num_threads(int n);  // n <= 0: back to the default (OMP_NUM_THREADS or all cores)
int default_num_threads();

// Every parallel region asks for the same team, num_threads(), however many
// parts the work has: libgomp reconfigures its team whenever consecutive
// regions ask for different sizes, which on a 16-core machine made a
// training step of small ops slower than on one thread. Threads past the
// last part skip the region. The part bounds depend only on `parts`.
template <typename F>
void parallel_for(int64_t begin, int64_t end, int64_t grain, const F& fn) {
  const int64_t n = end - begin;
  if (n <= 0) return;
  const int64_t g = std::max<int64_t>(grain, 1);
  const int64_t parts = std::min<int64_t>(num_threads(), (n + g - 1) / g);
#ifdef _OPENMP
  if (parts > 1 && !omp_in_parallel()) {
#pragma omp parallel num_threads(num_threads())
    {
      FlushDenormals ftz;
      // A team smaller than asked for (OMP_THREAD_LIMIT, OMP_DYNAMIC) takes several parts per thread.
      for (int64_t t = omp_get_thread_num(); t < parts; t += omp_get_num_threads()) {
        const int64_t b = begin + n * t / parts, e = begin + n * (t + 1) / parts;
        if (b < e) fn(b, e);
      }
    }
    return;
  }
#endif
  FlushDenormals ftz;
  fn(begin, end);
}

// Items [0, n) handed out one at a time to whichever thread asks next
// (OpenMP's dynamic schedule), for large independent items: a thread slowed
// down (a core shared with another VM, a small core) then takes fewer. Each
// item's result must not depend on which thread runs it.
template <typename F>
void parallel_items(int64_t n, const F& fn) {
  if (n <= 0) return;
#ifdef _OPENMP
  if (n > 1 && num_threads() > 1 && !omp_in_parallel()) {
#pragma omp parallel num_threads(num_threads())
    {
      FlushDenormals ftz;
#pragma omp for schedule(dynamic, 1)
      for (int64_t i = 0; i < n; ++i) fn(i);
    }
    return;
  }
#endif
  FlushDenormals ftz;
  for (int64_t i = 0; i < n; ++i) fn(i);
}

// fn(t, n) once on each thread t of a team of n (at most num_threads()), for
// a kernel whose threads share work between barriers (team_barrier). The
// kernel must make every thread reach every barrier, and its results must
// not depend on n.
template <typename F>
void parallel_team(const F& fn) {
#ifdef _OPENMP
  if (num_threads() > 1 && !omp_in_parallel()) {
#pragma omp parallel num_threads(num_threads())
    {
      FlushDenormals ftz;
      fn(int64_t(omp_get_thread_num()), int64_t(omp_get_num_threads()));
    }
    return;
  }
#endif
  FlushDenormals ftz;
  fn(int64_t(0), int64_t(1));
}

// Waits for every thread of the team running parallel_team.
inline void team_barrier() {
#ifdef _OPENMP
#pragma omp barrier
#endif
}

}  // namespace tt
