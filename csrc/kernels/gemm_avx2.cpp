// GEMM micro-kernels for AVX2 + FMA: 6 x 16 float and 6 x 8 double register
// tiles (12 of the 16 ymm registers accumulate).
#include <immintrin.h>

#include "gemm_blocked.h"

namespace tt::kernels::gemm_detail {
namespace {

template <typename T>
struct Avx2;

template <>
struct Avx2<float> {
  using T = float;
  using V = __m256;
  static constexpr int W = 8;
  static constexpr Blocking blocking{6, 16, W, 256, 256, 1032, 256};
  static V zero() { return _mm256_setzero_ps(); }
  static V set1(T x) { return _mm256_set1_ps(x); }
  static V load(const T* p) { return _mm256_loadu_ps(p); }
  static V bcast(const T* p) { return _mm256_broadcast_ss(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V max(V a, V b) { return _mm256_max_ps(a, b); }
  static V min(V a, V b) { return _mm256_min_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V div(V a, V b) { return _mm256_div_ps(a, b); }
  static V round(V x) { return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static V scale2(V p, V n) {  // n in the normal exponent range
    const __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(e, 23)));
  }
  static V select_lt(V a, V b, V x, V y) { return _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, b, _CMP_LT_OQ)); }
  static __m256i mask(int n) { return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)); }
  static V load_n(const T* p, int n) { return n == W ? load(p) : _mm256_maskload_ps(p, mask(n)); }
  static void store_n(T* p, V v, int n) { n == W ? _mm256_storeu_ps(p, v) : _mm256_maskstore_ps(p, mask(n), v); }
  // In place: afterwards r[j] holds lane j of the 8 input vectors.
  static void transpose(V* r) {
    V t[8];
    for (int i = 0; i < 8; i += 2) {  // 128-bit lane L of t[i]: rows i, i+1 at columns 4L, 4L+1
      t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    auto pd = [](V x) { return _mm256_castps_pd(x); };
    for (int i = 0; i < 8; i += 4) {  // lane L of r[i + c]: rows i..i+3 at column 4L + c
      r[i] = _mm256_castpd_ps(_mm256_unpacklo_pd(pd(t[i]), pd(t[i + 2])));
      r[i + 1] = _mm256_castpd_ps(_mm256_unpackhi_pd(pd(t[i]), pd(t[i + 2])));
      r[i + 2] = _mm256_castpd_ps(_mm256_unpacklo_pd(pd(t[i + 1]), pd(t[i + 3])));
      r[i + 3] = _mm256_castpd_ps(_mm256_unpackhi_pd(pd(t[i + 1]), pd(t[i + 3])));
    }
    for (int c = 0; c < 4; ++c) {  // column 4L + c = lane L of r[c], r[4 + c]
      const V lo = _mm256_permute2f128_ps(r[c], r[4 + c], 0x20), hi = _mm256_permute2f128_ps(r[c], r[4 + c], 0x31);
      r[c] = lo;
      r[4 + c] = hi;
    }
  }
};

template <>
struct Avx2<double> {
  using T = double;
  using V = __m256d;
  static constexpr int W = 4;
  static constexpr Blocking blocking{6, 8, W, 128, 128, 1032, 256};
  static V zero() { return _mm256_setzero_pd(); }
  static V set1(T x) { return _mm256_set1_pd(x); }
  static V load(const T* p) { return _mm256_loadu_pd(p); }
  static V bcast(const T* p) { return _mm256_broadcast_sd(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
  static V add(V a, V b) { return _mm256_add_pd(a, b); }
  static V max(V a, V b) { return _mm256_max_pd(a, b); }
  static V min(V a, V b) { return _mm256_min_pd(a, b); }
  static V sub(V a, V b) { return _mm256_sub_pd(a, b); }
  static V div(V a, V b) { return _mm256_div_pd(a, b); }
  static V round(V x) { return _mm256_round_pd(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static V scale2(V p, V n) {  // n in the normal exponent range
    const __m256i e = _mm256_add_epi64(_mm256_cvtepi32_epi64(_mm256_cvtpd_epi32(n)), _mm256_set1_epi64x(1023));
    return _mm256_mul_pd(p, _mm256_castsi256_pd(_mm256_slli_epi64(e, 52)));
  }
  static V select_lt(V a, V b, V x, V y) { return _mm256_blendv_pd(y, x, _mm256_cmp_pd(a, b, _CMP_LT_OQ)); }
  static __m256i mask(int n) { return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3)); }
  static V load_n(const T* p, int n) { return n == W ? load(p) : _mm256_maskload_pd(p, mask(n)); }
  static void store_n(T* p, V v, int n) { n == W ? _mm256_storeu_pd(p, v) : _mm256_maskstore_pd(p, mask(n), v); }
  // In place: afterwards r[j] holds lane j of the 4 input vectors.
  static void transpose(V* r) {
    const V t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);  // lane L: column 2L (+1)
    const V t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
    r[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
    r[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
    r[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
    r[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
  }
};

}  // namespace

const IsaKernels& kernels_avx2() {
  static const IsaKernels k = make_isa_kernels<Avx2<float>, Avx2<double>>();
  return k;
}

}  // namespace tt::kernels::gemm_detail
