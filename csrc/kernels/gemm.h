// General matrix multiply, row-major:
//   C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C  (+ bias[N], then act)
// op(A) = A (M x K, row stride lda) or, with trans_a, A^T where A is K x M.
// op(B) = B (K x N, row stride ldb) or, with trans_b, B^T where B is N x K.
// beta == 0 means C is not read (it may hold garbage or NaN).
// bias (length N, may be null) and act are applied after alpha/beta: the
// epilogue that makes Dense forward a single pass over C.
// Threads: parallel inside; serial when already inside a parallel region.
// Results are bitwise identical for any thread count.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "../core/tensor.h"
#include "activation.h"

namespace tt::kernels {

// Multiply-adds below which a product is not worth a thread of its own
// (waking a second thread costs about 1.5 us; this is about 1.5-2.5 us of
// work). Half of what it was: on the AVX-512 EPYC, GEMMs of 2 to 4 times this
// ran 1.10-1.38x faster on 2 threads than on 1 (64^3, 80^3, 48x64x96).
constexpr double kGemmMinWorkPerThread = 128.0 * 1024;

// Multiply-adds per thread (about 1.3 ms of work) from which a threaded GEMM
// splits each thread's share in two items, so a slowed core can be helped
// (gemm.cpp).
constexpr double kGemmLongWorkPerThread = 64.0 * 1024 * 1024;

// Rows a multiple of 1 KB apart share few cache sets, so gemm packs an
// operand with such a row stride (gemm.cpp). A caller reusing one operand over
// many calls can store it with rows gemm_unaliased_ld(n) apart instead.
inline bool gemm_ld_aliases(int64_t ld, size_t elem_size) { return ld * int64_t(elem_size) % 1024 == 0; }
inline int64_t gemm_unaliased_ld(int64_t n, size_t elem_size) {
  return gemm_ld_aliases(n, elem_size) ? n + 64 / int64_t(elem_size) : n;
}

template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B,
          int64_t ldb, T beta, T* C, int64_t ldc, const T* bias = nullptr, Act act = Act::none);

// Batched matmul on tensors [..., M, K] x [..., K, N] -> [..., M, N], with
// numpy broadcasting of the batch dims; transposes swap the last two dims.
Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false);

// Dense layer forward: act(x[..., K] @ w[K, N] + bias[N]) in one pass.
Tensor dense_forward(const Tensor& x, const Tensor& w, const Tensor* bias, Act act);

// Dense backward from y = dense_forward(x, w, b, act) and dy:
// g = dy * act'(y); dx = g w^T (skipped when need_dx is false), dw = x^T g, db = sum_rows(g).
struct DenseGrads { Tensor dx, dw, db; };
DenseGrads dense_backward(const Tensor& x, const Tensor& w, const Tensor& y, const Tensor& dy, Act act, bool need_dx,
                          bool need_db);

// A stack of Dense layers, set up once from the layers' weights (whose
// memory it shares): layer i computes act[i](x @ w[i] + b[i]) (b[i] may be
// empty); with softmax, a last-axis softmax follows the last layer.
struct DenseStack {
  std::vector<Tensor> w;
  std::vector<std::optional<Tensor>> b;
  std::vector<Act> act;
  bool softmax = false;
};

// One training step's gradients of a DenseStack (dense_stack.cpp): forward
// keeping every layer's output, the softmax cross-entropy of the last layer's
// output (the logits) against `labels` (int32/int64 class ids of shape [M],
// or one-hot / soft targets [M, C] of x's dtype), weighted by `weights` ([M],
// x's dtype; null: 1) and summed over the M rows divided by M (Keras'
// sum_over_batch_size), then backward. grads holds each layer's kernel
// gradient followed by its bias gradient (when it has a bias).
struct DenseStackGrads {
  double loss = 0;
  Tensor probs;  // softmax of the logits
  std::vector<Tensor> grads;
};
DenseStackGrads dense_stack_gradients(const DenseStack& s, const Tensor& x, const Tensor& labels,
                                      const Tensor* weights);

// Measured FMA throughput of this machine in GFLOP/s for the active ISA, on
// num_threads() threads: the best of many short runs of independent FMA
// chains (the peak that GEMM figures are compared with), or with `sustained`
// the median of a few runs of ~0.1 s each (the rate the cores hold under
// continuous load, a few to ~10% lower on a shared VM whose clocks drop).
double fma_peak_gflops(bool double_precision, bool sustained = false);

}  // namespace tt::kernels
