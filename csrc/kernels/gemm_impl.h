// Internal interface between the GEMM driver (gemm.cpp: checks, strategy,
// threading) and the per-ISA blocked kernels (gemm_avx512.cpp, gemm_avx2.cpp,
// gemm_generic.cpp, all built from gemm_blocked.h).
//
// Note [GEMM determinism]: every path computes each C element as one FMA
// chain over k = 0..K-1 in order, cut into blocks of kc = pass_depth(); the
// first block writes alpha*acc + beta*C, later blocks add alpha*acc to C, the
// last adds bias and applies act. kc depends only on the ISA, dtype, K and N,
// so packing choices, tile shapes, the rows in a call and the split of C
// between threads never change a single bit.
#pragma once
#include <cstdint>

#include "activation.h"

namespace tt::kernels::gemm_detail {

// One C = alpha op(A) op(B) + beta C (+ bias, act) problem, already checked.
template <typename T>
struct Problem {
  bool ta, tb;
  int64_t M, N, K;
  T alpha;
  const T* A;
  int64_t lda;
  const T* B;
  int64_t ldb;
  T beta;
  T* C;
  int64_t ldc;
  const T* bias;
  Act act;
  // Copy operand blocks into micro-panels (see gemm_blocked.h): pack_b
  // always with tb; A as stored is read row by row in place unless its row
  // stride makes a tile's rows share L1 sets (gemm.cpp).
  bool pack_a, pack_b;
};

// Register tile (mr x nr, nr = nv vectors of w lanes) and cache blocks.
struct Blocking {
  int mr, nr, w;
  int64_t kc;       // depth of one pass: A micro-panel mr x kc stays in L1
  int64_t kc_wide;  // depth of one pass when C has at least kWideC columns (pass_depth)
  int64_t mc;       // rows of A packed at once (mc x kc, reused by every column block)
  int64_t nc;       // columns of the packed B block (kc x nc stays in L2)
};

// Every pass over K but the first reads C back and adds to it. A wide C
// (a row of 512 floats is 2 KB) lives in L3 or memory, and those reads
// stall the micro-kernels, so wide C takes fewer, deeper passes even though
// A's micro-panel and B's block then overflow L1 and L2. On the AVX-512 EPYC
// (1 thread, paired runs, kc 1024 against 384): 2048^3 +5.8%, 1024^3 +5.6%,
// 2048x512x2048 +5.6%, A^T B and A B^T at 1024x2048x1024 +3.3% / +5.9%,
// 2 threads 2048^3 +5.4%; 32x784x1024 and 256x4096x1024 unchanged; doubles
// 512 deep against 192: 512^3 to 2048^3 +7-9%. The LSTM's weight gradients
// (N = 256, K = 5120; C in L2) ran 3% slower deep, so narrower C keeps kc.
// AVX2 keeps one depth: forced on the same machine, 768 deep read -5.5% to
// +7.5% by shape, and its own CPUs have other caches. The depth depends on
// N, never on M: a row keeps its bits inside a batch (Note [GEMM determinism]).
constexpr int64_t kWideC = 512;
inline int64_t pass_depth(const Blocking& bl, int64_t N) { return N >= kWideC ? bl.kc_wide : bl.kc; }

// Packed B blocks shared by a team of threads (gemm.cpp's path for large
// products): two buffers of kc x nc used in turn; thread t of n packs strips
// t, t + n, ... of each block, then the team waits for the whole block.
template <typename T>
struct TeamB {
  T* b[2];
  int64_t t, n;
};

// Pack buffers of one thread, 64-byte aligned, sized from Blocking:
// a holds mc x kc elements, b holds kc x nc. With a team, B comes from
// team->b instead of b.
template <typename T>
struct Workspace {
  T* a;
  T* b;
  const TeamB<T>* team = nullptr;
};

// Computes C[m0:m1, n0:n1] of the problem, single-threaded.
template <typename T>
using BlockFn = void (*)(const Problem<T>& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1, const Workspace<T>& ws);

// Computes rows [m0, m1) of a C of at most w columns through q, the problem
// transposed (gemm_blocked.h), single-threaded.
template <typename T>
using NarrowFn = void (*)(const Problem<T>& p, const Problem<T>& q, int64_t m0, int64_t m1, const Workspace<T>& ws);

// Independent FMA chains of the peak probe (gemm_blocked.h): more than latency x
// ports on current cores. Not 16: with AVX2's 16 vector registers, 16 chains and
// the probe's two constants spill and the probe times the spills.
constexpr int kFmaProbeChains = 12;

struct IsaKernels {
  Blocking f32, f64;
  BlockFn<float> block_f32;
  BlockFn<double> block_f64;
  NarrowFn<float> narrow_f32;
  NarrowFn<double> narrow_f64;
  double (*fma_probe_f32)(int64_t iters);  // 2 * kFmaProbeChains * f32.w * iters flops
  double (*fma_probe_f64)(int64_t iters);
};

const IsaKernels& kernels_avx512();
const IsaKernels& kernels_avx2();
const IsaKernels& kernels_generic();

}  // namespace tt::kernels::gemm_detail
