// The BLIS-style blocked GEMM, written once over a SIMD traits type S and
// compiled once per instruction set: gemm_avx512.cpp, gemm_avx2.cpp and
// gemm_generic.cpp each include this file with their own S.
//
// Everything here is in an anonymous namespace on purpose: each ISA file gets
// its own private copy, so the linker can never hand an AVX-512 build of a
// helper to baseline code. For the same reason this file uses no std::
// templates that could be emitted out of line.
//
// Layout of the work (row-major C; vectors run along N):
//   for pc over K in steps of kc                      one pass of the FMA chains
//     for ic over M in steps of mc                    pack A^T[pc.., ic..] (optional)
//       for jc over N in steps of nc                  pack B[pc.., jc..] (optional)
//         for ir over the block in steps of mr        A micro-panel mr x kc: L1
//           for jr over the block in steps of nr      B micro-panel kc x nr: L2
//             micro-kernel: mr x nr tile in registers, then the epilogue
//
// The micro-kernel reads A either row-major (a[i*sa + k]: A as stored, in
// place, which measured faster than packing it unless the rows of a tile
// share L1 sets) or k-major (a[k*sa + i]: A^T as stored, or packed panels of
// either), and B as b[k*sb + j] (B as stored, or its packed strips). Packing
// is chosen by shape in gemm.cpp; B^T is always packed, and so is a strip of
// B narrower than nr (zero-padded to nr), so the micro-kernel never loads
// past a row of B.
#pragma once
#include <cstdint>
#include <utility>

#include "act_simd.h"
#include "gemm_impl.h"

namespace tt::kernels::gemm_detail {
namespace {

// S provides: T; V (a vector of S::W lanes); blocking (mr = MR rows,
// nr = NV vectors); zero, set1, load, bcast, fma(a, b, c) = a*b + c, mul,
// add, max, min (as x86: the second operand when one is NaN); load_n /
// store_n touching only the first n lanes (load_n zeroes the others);
// transpose(V r[W]) in place; and what act_simd.h lists.

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// Size of the blocks that cut len into as few pieces of at most `most` as
// possible, all equal but the last, in multiples of `unit` (`most` itself
// when len fits in one block).
inline int64_t even_block(int64_t len, int64_t most, int64_t unit) {
  if (len <= most) return most;
  const int64_t pieces = (len + most - 1) / most, size = (len + pieces - 1) / pieces;
  return min64((size + unit - 1) / unit * unit, most);
}

template <typename T>
struct Epilogue {
  T alpha, beta;
  const T* bias;  // bias of the whole problem (column 0), or null
  Act act;
  bool first, last;  // first / last pass over K
};

// Writes one row of a tile: ncols (>= 1, <= NV*W) values starting at c,
// without sigmoid or tanh (apply_call_act, below).
template <class S, int NV>
inline void store_row(const typename S::V* acc, typename S::T* c, const typename S::T* bias, int ncols,
                      const Epilogue<typename S::T>& e) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr int W = S::W;
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) {
    const int n = ncols - v * W < W ? ncols - v * W : W;
    if (n <= 0) break;  // a narrow edge strip: its last vectors are padding
    T* cv = c + v * W;
    V x = acc[v];
    if (e.first) {
      if (e.alpha != T(1)) x = S::mul(x, S::set1(e.alpha));
      if (e.beta != T(0)) x = S::fma(S::set1(e.beta), S::load_n(cv, n), x);  // beta == 0: C is never read
    } else {
      x = S::fma(S::set1(e.alpha), x, S::load_n(cv, n));
    }
    if (e.last) {
      if (bias) x = S::add(x, S::load_n(bias + v * W, n));
      if (e.act == Act::relu || e.act == Act::relu6) x = vact<S>(e.act, x);  // sigmoid, tanh: apply_call_act
    }
    S::store_n(cv, x, n);
  }
}

// sigmoid and tanh, which store_row leaves out: they are calls, which
// clobber every vector register, so they run over the stored tile, after the
// accumulators are dead, instead of each call saving and restoring them all.
template <class S>
void apply_call_act(typename S::T* c, int64_t ldc, int rows, int ncols, const Epilogue<typename S::T>& e) {
  constexpr int W = S::W;
  if (!e.last || (e.act != Act::sigmoid && e.act != Act::tanh)) return;
  for (int r = 0; r < rows; ++r)
    for (int j = 0; j < ncols; j += W) {
      const int n = ncols - j < W ? ncols - j : W;
      S::store_n(c + r * ldc + j, vact<S>(e.act, S::load_n(c + r * ldc + j, n)), n);
    }
}

// The micro-kernel: an R x (NV*W) tile of C from kc steps of rank-1 updates.
// RowA: A read row-major (a[i*sa + k]), otherwise k-major (a[k*sa + i]).
// c_next: the tile of C (same ldc, R rows) the next call will write, or null.
template <class S, int R, int NV, bool RowA>
void ukernel(int64_t kc, const typename S::T* a, int64_t sa, const typename S::T* b, int64_t sb, typename S::T* c,
             int64_t ldc, int ncols, const typename S::T* bias, const Epilogue<typename S::T>& e,
             const typename S::T* c_next) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr int W = S::W;
  V acc[R][NV];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[r][v] = S::zero();

  // Row-major A: rows r = 3q + s are read as (a + 3q*sa) + s*sa, so the
  // addresses are base + index*scale forms from 4 pointers, not 12 (which
  // would spill general registers).
  const T* a3[(R + 2) / 3] = {};
  if constexpr (RowA)
#pragma GCC unroll 8
    for (int q = 0; q < (R + 2) / 3; ++q) a3[q] = a + 3 * q * sa;
  // C is touched only in the epilogue, where a miss per row would stall
  // every pass over a large C. Each call fetches the tile the next call will
  // write, a row per R-th of its k-loop, so the misses are few at a time:
  // fetching its own tile's 2R lines at once at the start, as before, kept
  // the L1's miss buffers full while B streamed in (paired runs of 2048^3 on
  // one thread: 1.3% faster, 17 of 20 rounds; 2 threads 1.7%).
  const int64_t chunk = (kc + R - 1) / R;
  for (int64_t k = 0, row = 0; k < kc; ++row) {
    if (c_next) {
      __builtin_prefetch(c_next + row * ldc, 1);
      __builtin_prefetch(c_next + row * ldc + NV * W - 1, 1);
    }
    for (const int64_t end = min64(k + chunk, kc); k < end; ++k) {
      V bv[NV];
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) {
        // B streams through once per micro-kernel (from L2, or from memory
        // when read in place): ask for it 16 steps ahead. Measured +5..15% on
        // the skinny training shapes; a prefetch past the end is harmless.
        __builtin_prefetch(b + 16 * sb + v * W, 0, 3);
        bv[v] = S::load(b + v * W);
      }
      b += sb;
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        const V ar = S::bcast(RowA ? a3[r / 3] + (r % 3) * sa : a + r);
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) acc[r][v] = S::fma(ar, bv[v], acc[r][v]);
      }
      if constexpr (RowA) {
#pragma GCC unroll 8
        for (int q = 0; q < (R + 2) / 3; ++q) ++a3[q];
      } else {
        a += sa;
      }
    }
  }

  // A local copy: stores to C (a T*) could otherwise alias the T fields of
  // *e, making the compiler reload them for every row.
  const Epilogue<T> ep = e;
  // Whole-width tiles with alpha 1 and nothing to apply in this pass (a plain
  // product, or a pass over K before the last) take a short path: store_row's
  // general case cost 5-10% of a 64^3 product. x + C is fma(1, x, C).
  if (ncols == NV * W && ep.alpha == T(1) && (!ep.last || (!bias && ep.act == Act::none))) {
    if (ep.first && ep.beta == T(0)) {
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) S::store_n(c + r * ldc + v * W, acc[r][v], W);
      return;
    }
    if (!ep.first) {
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) {
          T* cv = c + r * ldc + v * W;
          S::store_n(cv, S::add(acc[r][v], S::load_n(cv, W)), W);
        }
      return;
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) store_row<S, NV>(acc[r], c + r * ldc, bias, ncols, ep);
  apply_call_act<S>(c, ldc, R, ncols, ep);
}

template <typename T>
using Ukernel = void (*)(int64_t, const T*, int64_t, const T*, int64_t, T*, int64_t, int, const T*,
                         const Epilogue<T>&, const T*);

// The micro-kernels, all nr wide: a strip narrower than nr is packed with
// zero columns and computed at full width. A read in place row by row (small
// batches: inference, the last batch of an epoch) has a kernel for every tile
// height, RowKernels::fn[h - 1]. k-major A (A^T, whose rows are a layer's
// width, so an odd edge tile is rare) has tiles of 2^i rows while 2^i < mr,
// ColKernels::fn[i], then of mr rows, fn[kTallest]; other heights run as
// a few of these, tallest first (11 = 8 + 2 + 1). A kernel for every height
// and width made the GEMM half of the library's code.
constexpr int powers_below(int mr) { return mr > 1 ? 1 + powers_below((mr + 1) / 2) : 0; }
template <class S, class Seq>
struct RowKernels;
template <class S, int... I>
struct RowKernels<S, std::integer_sequence<int, I...>> {
  static constexpr Ukernel<typename S::T> fn[] = {&ukernel<S, I + 1, S::blocking.nr / S::W, true>...};
};
template <class S, class Seq>
struct ColKernels;
template <class S, int... I>
struct ColKernels<S, std::integer_sequence<int, I...>> {
  static constexpr Ukernel<typename S::T> fn[] = {&ukernel<S, (1 << I), S::blocking.nr / S::W, false>...,
                                                  &ukernel<S, S::blocking.mr, S::blocking.nr / S::W, false>};
};

// A single row of C (a vector times a matrix: one-sample inference) has only
// NV FMA chains per micro-kernel and waits on their latency; when C is wider
// than one strip, strips 2 or 4 times as wide put more chains in flight and
// cut the passes over A. (AVX2, 1 x 784 x 64: 8 chains in one pass instead of
// 4 chains in two.)
template <class S, int Factor>
constexpr Ukernel<typename S::T> wide_row_kernel = &ukernel<S, 1, Factor * S::blocking.nr / S::W, true>;

// ---- packing ----------------------------------------------------------------

// dst[j*ldd + i] = src[i*lds + j] for i < lanes, j < cols, reading only rows
// i < rows (<= lanes <= W; the other lanes get zeros): a W x W register
// transpose with ragged edges.
template <class S>
void transpose_block(const typename S::T* src, int64_t lds, int rows, int cols, typename S::T* dst, int64_t ldd,
                     int lanes) {
  typename S::V r[S::W];
  for (int i = 0; i < S::W; ++i) r[i] = i < rows ? S::load_n(src + i * lds, cols) : S::zero();
  S::transpose(r);
  for (int j = 0; j < cols; ++j) S::store_n(dst + j * ldd, r[j], lanes);
}

// Rows [0, rows) x k [0, kc) of op(A) into the k-major micro-panel
// dst[k*rows + i]. A^T as stored (K x M) is a copy of contiguous runs of
// rows; A as stored (M x K) is transposed in W x W blocks.
template <class S>
void pack_a(bool ta, const typename S::T* a, int64_t lda, int rows, int64_t kc, typename S::T* dst) {
  constexpr int W = S::W;
  if (!ta) {
    for (int64_t k = 0; k < kc; k += W)
      for (int i = 0; i < rows; i += W) {
        const int n = rows - i < W ? rows - i : W;
        transpose_block<S>(a + i * lda + k, lda, n, int(min64(W, kc - k)), dst + k * rows + i, rows, n);
      }
    return;
  }
  for (int64_t k = 0; k < kc; ++k, a += lda, dst += rows)
    for (int i = 0; i < rows; i += W) {
      const int n = rows - i < W ? rows - i : W;
      S::store_n(dst + i, S::load_n(a + i, n), n);
    }
}

// k [0, kc) x columns [0, cols) of B into the strip dst[k*width + j], zero for
// cols <= j < width (a multiple of W). B as stored (K x N) is
// a strided copy; B^T (tb: stored N x K) is transposed in W x W blocks.
template <class S>
void pack_b(bool tb, const typename S::T* b, int64_t ldb, int cols, int width, int64_t kc, typename S::T* dst) {
  constexpr int W = S::W;
  if (!tb) {
    for (int64_t k = 0; k < kc; ++k)
      for (int j = 0; j < width; j += W)
        S::store_n(dst + k * width + j, j < cols ? S::load_n(b + k * ldb + j, cols - j < W ? cols - j : W) : S::zero(), W);
    return;
  }
  for (int j = 0; j < width; j += W) {
    const int n = cols - j < W ? cols - j : W;
    for (int64_t k = 0; k < kc; k += W)
      transpose_block<S>(b + j * ldb + k, ldb, n, int(min64(W, kc - k)), dst + k * width + j, width, W);
  }
}

// ---- the blocked loops --------------------------------------------------------

// Asks for rows [0, rows) x [0, cols) of a row-major matrix, lines into L1.
template <typename T>
inline void prefetch_rows(const T* a, int64_t lda, int rows, int64_t cols) {
  for (int r = 0; r < rows; ++r) {
    const char* row = reinterpret_cast<const char*>(a + r * lda);
    for (int64_t byte = 0; byte < cols * int64_t(sizeof(T)); byte += 64) __builtin_prefetch(row + byte, 0, 3);
  }
}

// One row of C from B as stored, read in place (a vector times a matrix:
// one-sample inference through a wide layer). The micro-kernels walk B down
// one strip at a time, a few hundred bytes of each row per walk, which the
// prefetchers follow poorly once B is outside L1; here each pass over K reads
// whole rows of B, four at a time, into accumulators kept in L1 (AVX-512
// EPYC, paired: 1x1024x1024 1.77x as fast, 1x784x256 1.3x, ragged widths
// such as 1x784x96 2.3x, 1x1024x1024 with A^T 8x). Each element keeps its FMA
// chain and the passes of pass_depth, so a row gets the bits it has inside a
// batch (Note [GEMM determinism]).
constexpr int64_t kRowCols = 1024;  // accumulators per sweep: 4 KB of floats
template <class S>
void gemm_row(const Problem<typename S::T>& p, int64_t m, int64_t n0, int64_t n1) {
  using T = typename S::T;
  using V = typename S::V;
  constexpr int W = S::W;
  alignas(64) T acc[kRowCols];
  const int64_t kc_step = even_block(p.K, pass_depth(S::blocking, p.N), 1);
  const T* a = p.ta ? p.A + m : p.A + m * p.lda;
  const int64_t sa = p.ta ? p.lda : 1, ldb = p.ldb;
  for (int64_t j0 = n0; j0 < n1; j0 += kRowCols) {
    const int cols = int(min64(kRowCols, n1 - j0)), full = cols / W, tail = cols % W, nvec = full + (tail > 0);
    T* c = p.C + m * p.ldc + j0;
    int64_t pc = 0;
    do {  // runs once when K == 0: the epilogue still writes beta*C + bias
      const int64_t kc = min64(kc_step, p.K - pc);
      for (int v = 0; v < nvec; ++v) S::store_n(acc + v * W, S::zero(), W);
      const T* b = p.B + pc * ldb + j0;
      int64_t k = 0;
      for (; k + 4 <= kc; k += 4, b += 4 * ldb) {
        const T* ak = a + (pc + k) * sa;
        const V a0 = S::set1(ak[0]), a1 = S::set1(ak[sa]), a2 = S::set1(ak[2 * sa]), a3 = S::set1(ak[3 * sa]);
        auto four = [&](int j, int n) {  // n == W: plain loads (AVX-512's load_n is always masked)
          auto row = [&](int64_t r) { return n == W ? S::load(b + r * ldb + j) : S::load_n(b + r * ldb + j, n); };
          V x = S::load(acc + j);
          x = S::fma(a0, row(0), x);
          x = S::fma(a1, row(1), x);
          x = S::fma(a2, row(2), x);
          x = S::fma(a3, row(3), x);
          S::store_n(acc + j, x, W);
        };
        for (int v = 0; v < full; ++v) four(v * W, W);
        if (tail) four(full * W, tail);
      }
      for (; k < kc; ++k, b += ldb) {
        const V ak = S::set1(a[(pc + k) * sa]);
        for (int v = 0; v < nvec; ++v) {
          const int n = v < full ? W : tail;
          S::store_n(acc + v * W, S::fma(ak, S::load_n(b + v * W, n), S::load(acc + v * W)), W);
        }
      }
      const Epilogue<T> e{p.alpha, p.beta, p.bias, p.act, pc == 0, pc + kc >= p.K};
      for (int v = 0; v < nvec; ++v) {
        const V x = S::load(acc + v * W);
        store_row<S, 1>(&x, c + v * W, p.bias ? p.bias + j0 + v * W : nullptr, v < full ? W : tail, e);
      }
      apply_call_act<S>(c, p.ldc, 1, cols, e);
      pc += kc;
    } while (pc < p.K);
  }
}

template <class S>
void gemm_block(const Problem<typename S::T>& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                const Workspace<typename S::T>& ws) {
  using T = typename S::T;
  constexpr Blocking bl = S::blocking;
  constexpr int MR = bl.mr;
  static_assert(bl.nc % (4 * bl.nr) == 0, "packed B blocks hold whole wide strips");
  static_assert(bl.kc_wide >= bl.kc, "pack buffers are sized for kc_wide");
  const bool row_a = !p.ta && !p.pack_a;  // A read in place, row by row
  const int wide = row_a && m1 - m0 == 1 ? (n1 - n0 >= 4 * bl.nr ? 4 : n1 - n0 > bl.nr ? 2 : 1) : 1;
  // One row: gemm_row, unless C fills whole strips of the wide kernels (up
  // to 4 strips: all their accumulators stay in registers, ~9% faster), since
  // a ragged edge strip is packed, a copy of B that a single row never reuses.
  if (m1 - m0 == 1 && !p.tb && !p.pack_b && (n1 - n0 > 4 * bl.nr || (n1 - n0) % (wide * bl.nr) != 0))
    return gemm_row<S>(p, m0, n0, n1);
  constexpr int kTallest = powers_below(MR);
  static_assert((1 << kTallest) >= MR && (1 << (kTallest - 1)) < MR, "ColKernels::fn[kTallest] has mr rows");
  const Ukernel<T>* table = row_a ? RowKernels<S, std::make_integer_sequence<int, MR>>::fn
                                  : ColKernels<S, std::make_integer_sequence<int, kTallest>>::fn;
  const int NR = wide * bl.nr;

  // Blocks of equal size (not full ones and a ragged rest). kc depends on K
  // and N alone: it fixes where the FMA chains are cut (Note [GEMM determinism]).
  const int64_t kc_step = even_block(p.K, pass_depth(bl, p.N), 1);
  // Blocks of rows only matter when A is packed (its buffer holds mc x kc).
  const int64_t mc_step = p.pack_a ? even_block(m1 - m0, bl.mc, MR) : m1 - m0;
  const int64_t nc_step = even_block(n1 - n0, bl.nc, NR);
  // With a team (gemm.cpp), each thread has its own rows (at most mc: one ic
  // block) and all of N, so every thread runs the same blocks and barriers.
  const TeamB<T>* team = ws.team;
  int64_t block = 0;
  int64_t pc = 0;
  do {  // runs once when K == 0: the epilogue still writes beta*C + bias
    const int64_t kc = min64(kc_step, p.K - pc);
    const Epilogue<T> e{p.alpha, p.beta, p.bias, p.act, pc == 0, pc + kc >= p.K};
    for (int64_t ic = m0; ic < m1; ic += mc_step) {
      const int64_t mc = min64(mc_step, m1 - ic);
      if (p.pack_a)
        for (int64_t ir = ic; ir < ic + mc; ir += MR) {
          const T* src = p.ta ? p.A + pc * p.lda + ir : p.A + ir * p.lda + pc;
          pack_a<S>(p.ta, src, p.lda, int(min64(MR, ic + mc - ir)), kc, ws.a + (ir - ic) * kc);
        }
      for (int64_t jc = n0; jc < n1; jc += nc_step) {
        const int64_t nc = min64(nc_step, n1 - jc);
        T* const bbuf = team ? team->b[block++ & 1] : ws.b;
        // Strip s of this block, when packed, sits at bbuf + s*NR*kc.
        for (int64_t jr = jc, s = 0; jr < jc + nc; jr += NR, ++s) {
          const int cols = int(min64(NR, jc + nc - jr));
          if ((p.pack_b || cols < NR) && (!team || s % team->n == team->t)) {
            const T* src = p.tb ? p.B + jr * p.ldb + pc : p.B + pc * p.ldb + jr;
            pack_b<S>(p.tb, src, p.ldb, cols, NR, kc, bbuf + (jr - jc) * kc);
          }
        }
        // A team waits for the whole block. A thread packs the next block into
        // the other buffer, and the one after into this buffer only past the
        // next barrier, which every thread reaches after computing on this one.
        if (team) {  // parallel.h's team_barrier, spelled out: this file includes nothing shared between ISAs
#ifdef _OPENMP
#pragma omp barrier
#endif
        }
        for (int64_t ir = ic; ir < ic + mc; ir += MR) {
          const int rows = int(min64(MR, ic + mc - ir));
          const T* a;
          int64_t sa;
          if (p.pack_a) a = ws.a + (ir - ic) * kc, sa = rows;
          else if (p.ta) a = p.A + pc * p.lda + ir, sa = p.lda;
          else a = p.A + ir * p.lda + pc, sa = p.lda;  // row-major, in place
          // A read in place: while this tile's last strip runs, fetch the next
          // tile's rows, which its first strip would otherwise wait for from
          // memory (the LSTM's input projection, 5120x128x256 on new inputs:
          // 7-14% faster; no change where A stays in cache).
          const bool prefetch_next = row_a && ir + MR < ic + mc;
          for (int64_t jr = jc; jr < jc + nc; jr += NR) {
            const int cols = int(min64(NR, jc + nc - jr));
            if (prefetch_next && jr + NR >= jc + nc)  // the tile's last strip
              prefetch_rows<T>(a + MR * sa, sa, int(min64(MR, ic + mc - ir - MR)), kc);
            const T* b;
            int64_t sb;
            if (p.pack_b || cols < NR) b = bbuf + (jr - jc) * kc, sb = NR;
            else b = p.B + pc * p.ldb + jr, sb = p.ldb;
            // The tile the next call writes: the next strip of these rows, else the
            // first strip of the next rows.
            const T* const c_next = jr + NR < jc + nc  ? p.C + ir * p.ldc + jr + NR
                                    : ir + MR < ic + mc ? p.C + (ir + MR) * p.ldc + jc
                                                        : nullptr;
            for (int d = 0; d < rows;) {  // rows d.. of the tile, by the tallest kernel that fits
              int h = rows - d, i = h - 1;  // row-major A: a kernel for every height
              if (!row_a) i = h == MR ? kTallest : 31 - __builtin_clz(unsigned(h)), h = h == MR ? MR : 1 << i;
              const Ukernel<T> kernel = wide == 4 ? wide_row_kernel<S, 4> : wide == 2 ? wide_row_kernel<S, 2> : table[i];
              kernel(kc, row_a ? a + d * sa : a + d, sa, b, sb, p.C + (ir + d) * p.ldc + jr, p.ldc, cols,
                     p.bias ? p.bias + jr : nullptr, e, c_next ? c_next + d * p.ldc : nullptr);
              d += h;
            }
          }
        }
      }
    }
    pc += kc;
  } while (pc < p.K);
}

// ---- C at most one vector wide ------------------------------------------------

// A C of at most W columns (a classifier's logits: 32 x 64 x 10) would fill a
// third of every nr = 2W wide tile. It is computed transposed instead,
// C^T = op(B)^T op(A)^T (q: N rows, tiles of height N; M columns, whole
// strips), kRows columns at a time into a buffer, and each row of C then
// goes through the epilogue as one vector. Every element keeps its FMA chain
// (a*b is exact in either order) and the epilogue adds the same terms in the
// same order, as long as beta == 0 or K takes one pass (gemm.cpp checks).
template <class S>
void gemm_narrow(const Problem<typename S::T>& p, const Problem<typename S::T>& q, int64_t m0, int64_t m1,
                 const Workspace<typename S::T>& ws) {
  using T = typename S::T;
  constexpr int W = S::W;
  constexpr int64_t kRows = 256;
  alignas(64) T ct[W * kRows];  // C^T of rows [i0, i0 + rows) of C, rows apart
  alignas(64) T row[W * W];
  const Epilogue<T> e{T(1), p.beta, p.bias, p.act, true, true};  // alpha was applied in the passes over K
  for (int64_t i0 = m0; i0 < m1; i0 += kRows) {
    const int64_t rows = min64(kRows, m1 - i0);
    Problem<T> b = q;
    b.N = rows, b.B = p.ta ? p.A + i0 : p.A + i0 * p.lda, b.C = ct, b.ldc = rows;
    gemm_block<S>(b, 0, p.N, 0, rows, ws);
    for (int64_t r = 0; r < rows; r += W) {
      const int n = int(min64(W, rows - r));
      transpose_block<S>(ct + r, rows, int(p.N), n, row, W, W);
      for (int i = 0; i < n; ++i) {
        const typename S::V v = S::load(row + i * W);
        store_row<S, 1>(&v, p.C + (i0 + r + i) * p.ldc, p.bias, int(p.N), e);
        apply_call_act<S>(p.C + (i0 + r + i) * p.ldc, 0, 1, int(p.N), e);
      }
    }
  }
}

// ---- FMA peak probe ------------------------------------------------------------

// kFmaProbeChains independent FMA chains, `iters` times. Returns a value that
// depends on every chain so nothing is optimised away.
template <class S>
double fma_probe(int64_t iters) {
  using V = typename S::V;
  using T = typename S::T;
  V acc[kFmaProbeChains];
#pragma GCC unroll 12
  for (int i = 0; i < kFmaProbeChains; ++i) acc[i] = S::set1(T(i) * T(1e-3));
  const V b = S::set1(T(0.999)), c = S::set1(T(1e-4));
  for (int64_t it = 0; it < iters; ++it)
#pragma GCC unroll 12
    for (int i = 0; i < kFmaProbeChains; ++i) acc[i] = S::fma(acc[i], b, c);
  T lanes[S::W];
  V sum = acc[0];
  for (int i = 1; i < kFmaProbeChains; ++i) sum = S::add(sum, acc[i]);
  S::store_n(lanes, sum, S::W);
  double r = 0;
  for (int i = 0; i < S::W; ++i) r += double(lanes[i]);
  return r;
}

template <class S32, class S64>
IsaKernels make_isa_kernels() {
  return {S32::blocking,     S64::blocking,     &gemm_block<S32>, &gemm_block<S64>,
          &gemm_narrow<S32>, &gemm_narrow<S64>, &fma_probe<S32>,  &fma_probe<S64>};
}

}  // namespace
}  // namespace tt::kernels::gemm_detail
