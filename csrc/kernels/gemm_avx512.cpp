// GEMM micro-kernels for AVX-512 (F, BW, VL, DQ + FMA): 12 x 32 float and
// 12 x 16 double register tiles (24 of the 32 zmm registers accumulate).
// GCC 12 warns inside its own AVX-512 intrinsics (their "undefined"
// pass-through operand); nothing of ours is uninitialised.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "gemm_blocked.h"

namespace tt::kernels::gemm_detail {
namespace {

template <typename T>
struct Avx512;

template <>
struct Avx512<float> {
  using T = float;
  using V = __m512;
  static constexpr int W = 16;
  // A micro-panel 12 x 384 floats = 18 KB (L1 32-48 KB); B block 384 x 512 = 768 KB (L2 1-2 MB);
  // wide C: 1024 deep (pass_depth). mc: a multiple of mr covering 2048 rows, so B is packed once
  // up to M = 2064 (every ISA's mc covers a power of two: with 2040, 2048^3 packed all of B
  // twice, 1.5% of its time on 1 thread).
  static constexpr Blocking blocking{12, 32, W, 384, 1024, 2064, 512};
  static V zero() { return _mm512_setzero_ps(); }
  static V set1(T x) { return _mm512_set1_ps(x); }
  static V load(const T* p) { return _mm512_loadu_ps(p); }
  static V bcast(const T* p) { return _mm512_set1_ps(*p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V max(V a, V b) { return _mm512_max_ps(a, b); }
  static V min(V a, V b) { return _mm512_min_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V div(V a, V b) { return _mm512_div_ps(a, b); }
  static V round(V x) { return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static V scale2(V p, V n) { return _mm512_scalef_ps(p, n); }
  static V select_lt(V a, V b, V x, V y) { return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ), y, x); }
  static __mmask16 mask(int n) { return __mmask16((1u << n) - 1); }
  static V load_n(const T* p, int n) { return _mm512_maskz_loadu_ps(mask(n), p); }
  static void store_n(T* p, V v, int n) { _mm512_mask_storeu_ps(p, mask(n), v); }
  // In place: afterwards r[j] holds lane j of the 16 input vectors.
  static void transpose(V* r) {
    V t[16];
    for (int i = 0; i < 16; i += 2) {  // 128-bit lane L of t[i]: rows i, i+1 at columns 4L, 4L+1
      t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    auto pd = [](V x) { return _mm512_castps_pd(x); };
    for (int i = 0; i < 16; i += 4) {  // lane L of r[i + c]: rows i..i+3 at column 4L + c
      r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(pd(t[i]), pd(t[i + 2])));
      r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(pd(t[i]), pd(t[i + 2])));
      r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(pd(t[i + 1]), pd(t[i + 3])));
      r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(pd(t[i + 1]), pd(t[i + 3])));
    }
    for (int c = 0; c < 4; ++c) {  // column 4L + c = lane L of r[c], r[4 + c], r[8 + c], r[12 + c]
      const V x0 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0x88), x1 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0xdd);
      const V y0 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0x88), y1 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0xdd);
      r[c] = _mm512_shuffle_f32x4(x0, y0, 0x88);
      r[4 + c] = _mm512_shuffle_f32x4(x1, y1, 0x88);
      r[8 + c] = _mm512_shuffle_f32x4(x0, y0, 0xdd);
      r[12 + c] = _mm512_shuffle_f32x4(x1, y1, 0xdd);
    }
  }
};

template <>
struct Avx512<double> {
  using T = double;
  using V = __m512d;
  static constexpr int W = 8;
  static constexpr Blocking blocking{12, 16, W, 192, 512, 2064, 512};
  static V zero() { return _mm512_setzero_pd(); }
  static V set1(T x) { return _mm512_set1_pd(x); }
  static V load(const T* p) { return _mm512_loadu_pd(p); }
  static V bcast(const T* p) { return _mm512_set1_pd(*p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
  static V add(V a, V b) { return _mm512_add_pd(a, b); }
  static V max(V a, V b) { return _mm512_max_pd(a, b); }
  static V min(V a, V b) { return _mm512_min_pd(a, b); }
  static V sub(V a, V b) { return _mm512_sub_pd(a, b); }
  static V div(V a, V b) { return _mm512_div_pd(a, b); }
  static V round(V x) { return _mm512_roundscale_pd(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static V scale2(V p, V n) { return _mm512_scalef_pd(p, n); }
  static V select_lt(V a, V b, V x, V y) { return _mm512_mask_blend_pd(_mm512_cmp_pd_mask(a, b, _CMP_LT_OQ), y, x); }
  static __mmask8 mask(int n) { return __mmask8((1u << n) - 1); }
  static V load_n(const T* p, int n) { return _mm512_maskz_loadu_pd(mask(n), p); }
  static void store_n(T* p, V v, int n) { _mm512_mask_storeu_pd(p, mask(n), v); }
  // In place: afterwards r[j] holds lane j of the 8 input vectors.
  static void transpose(V* r) {
    V t[8];
    for (int i = 0; i < 8; i += 2) {  // 128-bit lane L of t[i + c]: rows i, i+1 at column 2L + c
      t[i] = _mm512_unpacklo_pd(r[i], r[i + 1]);
      t[i + 1] = _mm512_unpackhi_pd(r[i], r[i + 1]);
    }
    for (int c = 0; c < 2; ++c) {  // column 2L + c = lane L of t[c], t[2 + c], t[4 + c], t[6 + c]
      const V x0 = _mm512_shuffle_f64x2(t[c], t[2 + c], 0x88), x1 = _mm512_shuffle_f64x2(t[c], t[2 + c], 0xdd);
      const V y0 = _mm512_shuffle_f64x2(t[4 + c], t[6 + c], 0x88), y1 = _mm512_shuffle_f64x2(t[4 + c], t[6 + c], 0xdd);
      r[c] = _mm512_shuffle_f64x2(x0, y0, 0x88);
      r[2 + c] = _mm512_shuffle_f64x2(x1, y1, 0x88);
      r[4 + c] = _mm512_shuffle_f64x2(x0, y0, 0xdd);
      r[6 + c] = _mm512_shuffle_f64x2(x1, y1, 0xdd);
    }
  }
};

}  // namespace

const IsaKernels& kernels_avx512() {
  static const IsaKernels k = make_isa_kernels<Avx512<float>, Avx512<double>>();
  return k;
}

}  // namespace tt::kernels::gemm_detail
