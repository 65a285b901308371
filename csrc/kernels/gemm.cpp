// GEMM entry point: argument checks, the strategy for a shape (which operands
// to pack, how many threads), and the split of C between threads. The blocked
// kernels themselves are in gemm_blocked.h, built once per ISA.
#include "gemm.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "../core/cpu.h"
#include "../core/parallel.h"
#include "../core/storage.h"
#include "gemm_impl.h"

namespace tt::kernels {

namespace gemm_detail {

namespace {

const IsaKernels& kernels_for(Isa isa) {
  switch (isa) {
    case Isa::avx512: return kernels_avx512();
    case Isa::avx2: return kernels_avx2();
    default: return kernels_generic();
  }
}

template <typename T> const Blocking& blocking_of(const IsaKernels& k);
template <> const Blocking& blocking_of<float>(const IsaKernels& k) { return k.f32; }
template <> const Blocking& blocking_of<double>(const IsaKernels& k) { return k.f64; }
template <typename T> BlockFn<T> block_fn(const IsaKernels& k);
template <> BlockFn<float> block_fn<float>(const IsaKernels& k) { return k.block_f32; }
template <> BlockFn<double> block_fn<double>(const IsaKernels& k) { return k.block_f64; }
template <typename T> NarrowFn<T> narrow_fn(const IsaKernels& k);
template <> NarrowFn<float> narrow_fn<float>(const IsaKernels& k) { return k.narrow_f32; }
template <> NarrowFn<double> narrow_fn<double>(const IsaKernels& k) { return k.narrow_f64; }

// A 64-byte aligned buffer grown on demand and kept, so the steady state
// allocates nothing.
struct Buffer {
  void* p = nullptr;
  size_t bytes = 0;
  ~Buffer() { std::free(p); }
  char* at_least(size_t need) {
    need = (need + 63) / 64 * 64;
    if (bytes < need) {
      std::free(p);
      p = aligned_block(need);
      bytes = p ? need : 0;
      if (!p) throw memory_error("gemm: cannot allocate " + std::to_string(need) + " bytes of pack buffers");
    }
    return static_cast<char*>(p);
  }
};

// Elements of one packed B block, for the deepest passes (kc_wide >= kc).
size_t b_block_size(const Blocking& bl) { return size_t(bl.kc_wide * bl.nc); }

// Pack buffers: one per thread.
template <typename T>
Workspace<T> thread_workspace(const Blocking& bl, bool pack_a) {
  thread_local Buffer buf;
  const size_t a_bytes = pack_a ? (size_t(bl.mc * bl.kc_wide) * sizeof(T) + 63) / 64 * 64 : 0;
  char* base = buf.at_least(a_bytes + b_block_size(bl) * sizeof(T));
  return {pack_a ? reinterpret_cast<T*>(base) : nullptr, reinterpret_cast<T*>(base + a_bytes)};
}

// The two B blocks a team shares (TeamB), owned by the calling thread.
template <typename T>
T* team_b_buffers(const Blocking& bl) {
  thread_local Buffer buf;
  return reinterpret_cast<T*>(buf.at_least(2 * b_block_size(bl) * sizeof(T)));
}

bool in_parallel_region() {
#ifdef _OPENMP
  return omp_in_parallel();
#else
  return false;
#endif
}

// Split [0, n) into `parts` ranges on multiples of `step`; returns range p.
std::pair<int64_t, int64_t> split_range(int64_t n, int64_t step, int64_t parts, int64_t p) {
  const int64_t units = (n + step - 1) / step;
  const int64_t u0 = units * p / parts, u1 = units * (p + 1) / parts;
  return {std::min(n, u0 * step), std::min(n, u1 * step)};
}

// How evenly split_range shares n: 1 when every part has n / parts.
double split_balance(int64_t n, int64_t step, int64_t parts) {
  if (parts <= 1) return 1.0;  // (its divisions cost 10% of a one-tile GEMM)
  int64_t worst = 0;
  for (int64_t p = 0; p < parts; ++p) {
    auto [b, e] = split_range(n, step, parts, p);
    worst = std::max(worst, e - b);
  }
  return double(n) / double(parts * std::max<int64_t>(worst, 1));
}

// The step in which threads split the rows [0, M) of C in `groups`: whole
// tiles (mr) when they share the rows within 2%, otherwise 4 rows. 128 rows in
// AVX-512's tiles of 12 went 60 / 68 to 2 threads, the second 13% longer; in
// fours, 64 / 64 with one 4-row tile each (2 threads, paired runs: 64^3 15%,
// 32x784x64 12%, 256^3 4%, 128x784x64 3% faster; 2048^3, split 1020 / 1028
// in tiles, 1.5% slower in fours). Tiles never change a value (Note [GEMM
// determinism]).
int64_t row_step(int64_t M, int64_t groups, const Blocking& bl) {
  return split_balance(M, bl.mr, groups) >= 0.98 ? bl.mr : 4;
}
std::pair<int64_t, int64_t> split_rows(int64_t M, int64_t groups, int64_t g, const Blocking& bl) {
  return split_range(M, row_step(M, groups, bl), groups, g);
}

// How many of the `rows` rows, `stride` bytes apart, of a tile of A read in
// place fall in one set of a 4 KB-periodic L1 (64 sets of 64-byte lines).
// With all 12 rows of an AVX-512 tile in one set (a 4 KB stride; the L1 has
// 8 ways) the tile evicts itself while the micro-kernel streams B past it:
// 1024^3 ran at 55% of peak instead of 80%, so such an A is packed. At 6 per
// set (AVX-512 at 2 KB, AVX2's 6-row tiles at 4 KB) packing measured no
// better, and AVX2's 6-lane masked stores are slow on Zen 3.
int64_t tile_rows_per_l1_set(int64_t rows, int64_t stride) {
  const int64_t groups = 4096 / std::gcd(stride, int64_t(4096));  // distinct set offsets of the rows
  return (rows + groups - 1) / groups;
}

// Packing copies an operand block into micro-panels: it costs a pass over
// the block and saves strided loads in every reuse, and cache-set conflicts
// when a row stride is a multiple of 1 KB (the kc rows a micro-kernel reads
// then fall in at most 1/16 of the L1 sets). B is reused by each row strip
// of C, A by each column strip. B^T must always be packed.
//
// B as stored is packed for 256 rows of C or more. For fewer, its conflicts
// can cost less than a pass over B that few row tiles reuse, and none
// reuses it when C has at most one tile of rows (mr): unpacked, 1x1024x1024
// ran 2.1x as fast, 8x1024x1024 1.7x (AVX-512 EPYC, 1 and 2 threads). Beyond
// that, B is packed when its rows alias and
// - every row falls in one set (4 KB): unpacked on 2 threads, 24 to 40 rows
//   x 1024 x 1024 swung between 0.84x and 1.5x with the number of rows, and
//   32x2048x2048 ran 0.68x;
// - or A^T is read in place, for 64 rows or more: its k-strided rows share
//   the same sets (the LSTM's weight gradients, 128x5120x256 A^T B, B rows of
//   1 KB, ran 5-8% slower unpacked; 32x5120x256 1.15x as fast);
// - or a row of a strip is less than a 128-byte line pair (AVX2: forced on
//   the EPYC, unpacked ran 0.67-0.83x as fast).
// Otherwise unpacked ran 1.03-1.26x as fast: 32x784x256 1.10-1.17x,
// 16x256x256 1.24-1.26x, 64x512x512 1.04-1.09x, 192x512x512 1.03-1.05x,
// doubles likewise. The one loss, 32x64x256 and 64x64x256 on 2 threads
// (0.87x, 0.92x; 1.14x, 1.04x on one), comes from choose_grid cutting them
// in rows once B costs no pass.
// Tuned on these, the training shapes and squares (bench/cpp/bench_gemm).
template <typename T>
void set_packing(Problem<T>& p, const Blocking& bl) {
  const auto aliasing = [](int64_t ld) { return gemm_ld_aliases(ld, sizeof(T)); };
  p.pack_a = p.ta ? p.M >= 64 && p.K >= 64 && (p.N >= 1024 || aliasing(p.lda))
                  : p.M >= bl.mr && p.K >= 64 && p.N >= 64 &&
                        tile_rows_per_l1_set(bl.mr, p.lda * int64_t(sizeof(T))) > 6;
  const bool b_conflicts = aliasing(p.ldb) && (p.ldb * int64_t(sizeof(T)) % 4096 == 0 ||
                                               (p.ta && !p.pack_a && p.M >= 64) || bl.nr * sizeof(T) < 128);
  p.pack_b = p.tb || p.M >= 256 || (p.M > bl.mr && p.K >= 64 && b_conflicts);
}

// The items of a threaded GEMM cut C into a grid: gm row groups (split_rows)
// times gn column groups (in strips of nr).
struct Grid {
  int64_t gm, gn;
};

// How evenly the threads share the items of a grid when each takes the next
// item as it frees up (parallel_items): 1 when every thread finishes at once.
// `busy` (one slot per thread) is scratch, a min-heap of finishing times: a
// GEMM on 16 threads weighs its 32 items without a scan per item.
double grid_balance(Grid g, std::vector<int64_t>& busy, int64_t M, int64_t N, const Blocking& bl) {
  std::fill(busy.begin(), busy.end(), 0);
  const int64_t step = row_step(M, g.gm, bl);
  int64_t total = 0;
  for (int64_t i = 0; i < g.gm * g.gn; ++i) {
    auto [r0, r1] = split_range(M, step, g.gm, i / g.gn);
    auto [c0, c1] = split_range(N, bl.nr, g.gn, i % g.gn);
    const int64_t work = (r1 - r0) * (c1 - c0);
    std::pop_heap(busy.begin(), busy.end(), std::greater<>());  // the thread free first
    busy.back() += work;
    std::push_heap(busy.begin(), busy.end(), std::greater<>());
    total += work;
  }
  const int64_t parts = int64_t(busy.size());
  return double(total) / double(parts * std::max<int64_t>(*std::max_element(busy.begin(), busy.end()), 1));
}

// Each item reads, for its rows, all of B along its columns (packed once per
// mc rows when B is packed; read in place, B costs the same for any grid),
// and for its columns, all of A along its rows (packed once when A is packed,
// otherwise read once per nc columns). Of the grids that balance within 10%
// of the best, the one that reads the least. (Cut in rows alone, every item
// of 2048^3 packed all of B, 10% of its time on 2 threads with 8 items, and
// 32x784x64, 3 row tiles, left items empty.)
Grid choose_grid(Grid cut, int64_t parts, int64_t M, int64_t N, int64_t K, const Blocking& bl, bool pack_a,
                 bool pack_b) {
  const int64_t items = cut.gm * cut.gn;
  std::vector<int64_t> busy(static_cast<size_t>(parts), 0);
  std::vector<std::pair<Grid, double>> grids{{cut, grid_balance(cut, busy, M, N, bl)}};
  double best_balance = grids[0].second;
  for (int64_t gn = 1; gn <= items; ++gn)
    if (items % gn == 0 && gn != cut.gn) {
      const Grid g{items / gn, gn};
      grids.push_back({g, grid_balance(g, busy, M, N, bl)});
      best_balance = std::max(best_balance, grids.back().second);
    }
  Grid best = cut;
  double least = -1;
  for (auto [g, balance] : grids) {
    if (balance < 0.9 * best_balance) continue;
    double b_passes = 0, a_passes = 0;
    const int64_t step = row_step(M, g.gm, bl);
    for (int64_t r = 0; r < g.gm; ++r) {
      auto [r0, r1] = split_range(M, step, g.gm, r);
      if (pack_b && r1 > r0) b_passes += pack_a ? double((r1 - r0 + bl.mc - 1) / bl.mc) : 1.0;
    }
    for (int64_t c = 0; c < g.gn; ++c) {
      auto [c0, c1] = split_range(N, bl.nr, g.gn, c);
      if (c1 > c0) a_passes += pack_a ? 1.0 : double((c1 - c0 + bl.nc - 1) / bl.nc);
    }
    const double reads = b_passes * double(K) * double(N) + a_passes * double(M) * double(K);
    // Another grid replaces the 1-D cut (the first candidate) only when it reads clearly less.
    if (least < 0 || reads < (best.gn == cut.gn ? 0.9 : 1.0) * least) least = reads, best = g;
  }
  return best;
}

// Large products on all threads: each thread takes its own rows of C, packs
// its rows of A, and the threads share every packed block of B (BLIS' way).
// With items of their own (below), each thread packs its own copy of the B
// blocks of its columns, so n threads pack B n times. On 2 threads, 512^3 to
// 2048^3 ran 7-10% faster shared than in two items per thread, and within 3%
// of one item per thread (paired runs); sharing is for more cores. The rows
// of a thread must fit one A block (mc) and be at least two tiles (narrow
// strips would change nr).
template <typename T>
bool use_team(const Problem<T>& p, int64_t parts, const Blocking& bl) {
  if (parts < 2 || parts != num_threads() || !p.pack_b) return false;
  // Below 512 rows or columns, sharing was slower (2 threads: 256^3 25%, 448^3 15%, against one item each).
  if (p.M < 512 || p.N < 512 || p.K < 256) return false;
  auto [r0, r1] = split_rows(p.M, parts, 0, bl);
  return r1 - r0 >= 2 * bl.mr && (p.M + parts - 1) / parts + bl.mr <= bl.mc;
}

template <typename T>
void gemm_team(const Problem<T>& p, const Blocking& bl, BlockFn<T> fn, std::atomic<bool>& out_of_memory) {
  T* shared = nullptr;
  try {
    shared = team_b_buffers<T>(bl);
  } catch (const std::bad_alloc&) {
    out_of_memory = true;
    return;
  }
  const int64_t planned = num_threads();
  parallel_team([&](int64_t t, int64_t n) {
    Workspace<T> ws;
    try {
      ws = thread_workspace<T>(bl, p.pack_a);
    } catch (const std::bad_alloc&) {
      out_of_memory = true;
    }
    team_barrier();  // every thread sees every failure, so all return or none
    if (out_of_memory) return;
    if (n != planned) {  // a smaller team than asked for (OMP_THREAD_LIMIT): rows without sharing
      for (int64_t part = t; part < planned; part += n) {
        auto [r0, r1] = split_rows(p.M, planned, part, bl);
        fn(p, r0, r1, 0, p.N, ws);
      }
      return;
    }
    const TeamB<T> team{{shared, shared + b_block_size(bl)}, t, n};
    ws.team = &team;
    auto [r0, r1] = split_rows(p.M, n, t, bl);
    fn(p, r0, r1, 0, p.N, ws);
  });
}

}  // namespace
}  // namespace gemm_detail

template <typename T>
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B,
          int64_t ldb, T beta, T* C, int64_t ldc, const T* bias, Act act) {
  using namespace gemm_detail;
  TT_CHECK(M >= 0 && N >= 0 && K >= 0, "gemm: negative size M=", M, " N=", N, " K=", K);
  TT_CHECK(lda >= std::max<int64_t>(1, ta ? M : K) && ldb >= std::max<int64_t>(1, tb ? K : N) &&
               ldc >= std::max<int64_t>(1, N),
           "gemm: leading dimension too small for M=", M, " N=", N, " K=", K, " trans_a=", ta, " trans_b=", tb,
           " (lda=", lda, " ldb=", ldb, " ldc=", ldc, ")");
  TT_CHECK(int(act) >= 0 && int(act) <= int(Act::tanh), "gemm: unknown activation ", int(act));
  if (M == 0 || N == 0) return;
  TT_CHECK(C && (K == 0 || (A && B)), "gemm: null data pointer");

  const IsaKernels& ks = kernels_for(isa());
  const Blocking& bl = blocking_of<T>(ks);
  Problem<T> p{ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, act, false, false};
  set_packing(p, bl);
  // A C at most one vector wide is computed transposed (gemm_narrow) when
  // that fills at least one whole strip.
  const bool narrow = N <= bl.w && M >= bl.nr && (beta == T(0) || K <= pass_depth(bl, N));
  Problem<T> q;  // set only when narrow: filling it cost 5% of a one-tile GEMM
  if (narrow) {
    q = {!tb, !ta, N, M, K, alpha, B, ldb, A, lda, T(0), nullptr, M, nullptr, Act::none, false, false};
    set_packing(q, bl);
  }

  // Threads: only when each gets enough work to pay for waking it; C is split
  // as below.
  const double work = double(M) * double(N) * double(std::max<int64_t>(K, 1));
  int64_t parts = in_parallel_region() ? 1 : std::min<int64_t>(num_threads(), int64_t(work / kGemmMinWorkPerThread));
  parts = std::max<int64_t>(parts, 1);
  const BlockFn<T> fn = block_fn<T>(ks);
  std::atomic<bool> out_of_memory{false};  // nothing may throw inside the region
  if (use_team(p, parts, bl)) {  // (N >= 512: never narrow)
    gemm_team(p, bl, fn, out_of_memory);
    if (out_of_memory) throw memory_error("gemm: cannot allocate pack buffers");
    return;
  }
  // Otherwise, with threads, C goes in items handed out as threads free up.
  // A thread's share of a long product goes in two items: on a shared
  // machine one core is often slower than the other for a while, and the
  // faster thread then takes the slow one's second item instead of waiting.
  // A shorter share (under about 1.3 ms on one core) stays one item: split in
  // two, 256^3, 320^3 and 384^3 ran 8-14% slower on 2 threads, 256x1024x256
  // 8%, 784x32x64 A^T B 6%, 6272x288x64 3% (paired runs on the AVX-512
  // EPYC), and none of them gained. (Four items per thread were slower still
  // on every shape.) Which thread runs an item does not change its values.
  const int64_t items_per_thread = work / double(parts) >= kGemmLongWorkPerThread ? 2 : 1;
  const int64_t items = parts > 1 ? parts * items_per_thread : 1;
  // Items cut C into a grid of row and column groups (choose_grid); the
  // default is the longer side of C cut alone, unless that balances clearly
  // worse (5120x128x256, the LSTM's input projection, ran 12-16% faster cut
  // in rows than in its 8 column strips, each reading all of x).
  Grid grid{items, 1};
  if (items > 1 && !narrow) {
    const double bm = split_balance(M, row_step(M, items, bl), items), bn = split_balance(N, bl.nr, items);
    const bool split_m = M >= N ? bm >= 0.9 * bn : 0.9 * bm > bn;
    grid = choose_grid(split_m ? Grid{items, 1} : Grid{1, items}, parts, M, N, K, bl, p.pack_a, p.pack_b);
  }
  const int64_t step = narrow ? bl.nr : row_step(M, grid.gm, bl);  // narrow: C's rows are q's columns
  // Through parallel_items even for one item: it also sets the floating-point
  // state kernels run in, which must not depend on the thread count.
  parallel_items(items, [&](int64_t i) {
    Workspace<T> ws;
    try {
      ws = thread_workspace<T>(bl, narrow ? q.pack_a : p.pack_a);
    } catch (const std::bad_alloc&) {
      out_of_memory = true;
      return;
    }
    auto [r0, r1] = split_range(M, step, grid.gm, i / grid.gn);
    auto [c0, c1] = split_range(N, bl.nr, grid.gn, i % grid.gn);
    if (r0 >= r1 || c0 >= c1) return;
    if (narrow) narrow_fn<T>(ks)(p, q, r0, r1, ws);
    else fn(p, r0, r1, c0, c1, ws);
  });
  if (out_of_memory) throw memory_error("gemm: cannot allocate pack buffers");
}

double fma_peak_gflops(bool f64, bool sustained) {
  using namespace gemm_detail;
  const IsaKernels& ks = kernels_for(isa());
  double (*probe)(int64_t) = f64 ? ks.fma_probe_f64 : ks.fma_probe_f32;
  // Many short runs, best one: on a shared machine the best run is the one
  // that had the cores to itself. Sustained: a few long runs, the median.
  const int64_t w = f64 ? ks.f64.w : ks.f32.w, iters = sustained ? 1 << 25 : 1 << 17, threads = num_threads();
  const int reps = sustained ? 5 : 40;
  std::vector<double> sink(size_t(threads), 0.0), rates;
  for (int rep = 0; rep < reps; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    parallel_for(0, threads, 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) sink[size_t(i)] += probe(iters);
    });
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rates.push_back(2.0 * kFmaProbeChains * double(w * iters * threads) / dt * 1e-9);
  }
  std::sort(rates.begin(), rates.end());
  const double rate = sustained ? rates[rates.size() / 2] : rates.back();
  return sink[0] == 12345.0 ? 0.0 : rate;  // reads the sink
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t,
                          float, float*, int64_t, const float*, Act);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t, const double*,
                           int64_t, double, double*, int64_t, const double*, Act);

}  // namespace tt::kernels
