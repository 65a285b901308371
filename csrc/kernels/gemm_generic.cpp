// Portable GEMM micro-kernel for CPUs without AVX2, and for aarch64: a vector
// is a 128-bit GCC/Clang vector-extension type, which the compiler maps to
// SSE2 or NEON registers (baseline flags only; fma is a*b + c).
#include <cmath>
#include <cstring>

#include "gemm_blocked.h"

namespace tt::kernels::gemm_detail {
namespace {

template <typename Elem>
struct Generic {
  using T = Elem;
  static constexpr int W = 16 / int(sizeof(T));
  typedef T V __attribute__((vector_size(16)));
  // 4 x 2 vectors: 8 accumulators fit SSE2's 16 registers with the 2-operand
  // instructions' copies.
  static constexpr Blocking blocking{4, 2 * W, W, 256, 256, 1024, 256};

  static V set1(T s) {
    V r;
    for (int i = 0; i < W; ++i) r[i] = s;
    return r;
  }
  static V zero() { return V{}; }
  static V load(const T* p) {
    V r;
    std::memcpy(&r, p, sizeof r);
    return r;
  }
  static V bcast(const T* p) { return set1(*p); }
  static V fma(V a, V b, V c) { return a * b + c; }
  static V mul(V a, V b) { return a * b; }
  static V add(V a, V b) { return a + b; }
  static V sub(V a, V b) { return a - b; }
  static V div(V a, V b) { return a / b; }
  // Lane by lane from here: not on the hot path.
  static V max(V a, V b) {  // as x86 max: b when either is NaN
    for (int i = 0; i < W; ++i) a[i] = a[i] > b[i] ? a[i] : b[i];
    return a;
  }
  static V min(V a, V b) {
    for (int i = 0; i < W; ++i) a[i] = a[i] < b[i] ? a[i] : b[i];
    return a;
  }
  static V round(V x) {
    for (int i = 0; i < W; ++i) x[i] = std::nearbyint(x[i]);
    return x;
  }
  static V scale2(V p, V n) {
    for (int i = 0; i < W; ++i) p[i] = std::ldexp(p[i], int(n[i]));
    return p;
  }
  static V select_lt(V a, V b, V x, V y) {
    for (int i = 0; i < W; ++i) x[i] = a[i] < b[i] ? x[i] : y[i];
    return x;
  }
  static V load_n(const T* p, int n) {
    V r{};
    std::memcpy(&r, p, sizeof(T) * size_t(n));
    return r;
  }
  static void store_n(T* p, V v, int n) { std::memcpy(p, &v, sizeof(T) * size_t(n)); }
  static void transpose(V* r) {
    for (int i = 0; i < W; ++i)
      for (int j = i + 1; j < W; ++j) {
        const T x = r[i][j];
        r[i][j] = r[j][i];
        r[j][i] = x;
      }
  }
};

}  // namespace

const IsaKernels& kernels_generic() {
  static const IsaKernels k = make_isa_kernels<Generic<float>, Generic<double>>();
  return k;
}

}  // namespace tt::kernels::gemm_detail
