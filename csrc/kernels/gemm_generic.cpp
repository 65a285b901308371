// Portable GEMM micro-kernel for CPUs without AVX2 (and for aarch64): a
// "vector" is a small array the compiler maps to SSE2/NEON registers.
#include <cmath>

#include "gemm_blocked.h"

namespace tt::kernels::gemm_detail {
namespace {

template <typename Elem>
struct Generic {
  using T = Elem;
  static constexpr int W = 16 / int(sizeof(T));  // one 128-bit register
  struct V {
    T x[W];
  };
  static constexpr Blocking blocking{4, 2 * W, W, 256, 1020, 256};
  static V set1(T s) {
    V r;
    for (int i = 0; i < W; ++i) r.x[i] = s;
    return r;
  }
  static V zero() { return set1(T(0)); }
  static V load(const T* p) {
    V r;
    for (int i = 0; i < W; ++i) r.x[i] = p[i];
    return r;
  }
  static V bcast(const T* p) { return set1(*p); }
  static V fma(V a, V b, V c) {
    for (int i = 0; i < W; ++i) c.x[i] += a.x[i] * b.x[i];
    return c;
  }
  static V mul(V a, V b) {
    for (int i = 0; i < W; ++i) a.x[i] *= b.x[i];
    return a;
  }
  static V add(V a, V b) {
    for (int i = 0; i < W; ++i) a.x[i] += b.x[i];
    return a;
  }
  static V max(V a, V b) {  // as _mm_max_ps: a > b ? a : b
    for (int i = 0; i < W; ++i) a.x[i] = a.x[i] > b.x[i] ? a.x[i] : b.x[i];
    return a;
  }
  static V min(V a, V b) {
    for (int i = 0; i < W; ++i) a.x[i] = a.x[i] < b.x[i] ? a.x[i] : b.x[i];
    return a;
  }
  static V sub(V a, V b) {
    for (int i = 0; i < W; ++i) a.x[i] -= b.x[i];
    return a;
  }
  static V div(V a, V b) {
    for (int i = 0; i < W; ++i) a.x[i] /= b.x[i];
    return a;
  }
  static V round(V x) {
    for (int i = 0; i < W; ++i) x.x[i] = std::nearbyint(x.x[i]);
    return x;
  }
  static V scale2(V p, V n) {
    for (int i = 0; i < W; ++i) p.x[i] = std::ldexp(p.x[i], int(n.x[i]));
    return p;
  }
  static V select_lt(V a, V b, V x, V y) {
    for (int i = 0; i < W; ++i) x.x[i] = a.x[i] < b.x[i] ? x.x[i] : y.x[i];
    return x;
  }
  static V load_n(const T* p, int n) {
    V r = zero();
    for (int i = 0; i < n; ++i) r.x[i] = p[i];
    return r;
  }
  static void store_n(T* p, V v, int n) {
    for (int i = 0; i < n; ++i) p[i] = v.x[i];
  }
  static void transpose(V* r) {
    for (int i = 0; i < W; ++i)
      for (int j = i + 1; j < W; ++j) {
        const T x = r[i].x[j];
        r[i].x[j] = r[j].x[i];
        r[j].x[i] = x;
      }
  }
};

}  // namespace

const IsaKernels& kernels_generic() {
  static const IsaKernels k = make_isa_kernels<Generic<float>, Generic<double>>();
  return k;
}

}  // namespace tt::kernels::gemm_detail
