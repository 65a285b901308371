// Convolution kernels for AVX-512 (32 zmm registers).
#include <immintrin.h>

// GCC 12 reports the _mm512_undefined_*() inside many intrinsics as uninitialised.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include "conv_kernels.h"

namespace tt::kernels::convk {
namespace {

struct Avx512Tiles {
  static constexpr int kNV = 2, kFwdR = 8, kMaxKT = 12, kAcc = 24;
};

struct Avx512F : Avx512Tiles {
  using T = float;
  using V = __m512;
  static constexpr int width = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V set1(T x) { return _mm512_set1_ps(x); }
  static V load(const T* p) { return _mm512_loadu_ps(p); }
  static void store(T* p, V v) { _mm512_storeu_ps(p, v); }
  static void store_n(T* p, V v, int n) { _mm512_mask_storeu_ps(p, __mmask16((1u << n) - 1), v); }
  static V bcast(const T* p) { return _mm512_set1_ps(*p); }
  static V reg(V v) {  // keeps v in a register (the compiler may not fold its load into uses)
    asm("" : "+v"(v));
    return v;
  }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V max(V a, V b) { return _mm512_max_ps(a, b); }
  static V min(V a, V b) { return _mm512_min_ps(a, b); }
  static T hsum(V v) {
    const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
  }
  static void hsum8(const V (&v)[8], T* out) {
    // Each step halves the lanes per vector and doubles the vectors per register:
    // 256-bit halves of pairs, then 128-bit blocks of quads, then lanes.
    auto halves = [](V a, V b) {
      return _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xEE));
    };
    auto blocks = [](V a, V b) {
      return _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x88), _mm512_shuffle_f32x4(a, b, 0xDD));
    };
    const V lo = blocks(halves(v[0], v[1]), halves(v[2], v[3]));  // block k: 4 partials of v[k]
    const V hi = blocks(halves(v[4], v[5]), halves(v[6], v[7]));  // block k: 4 partials of v[k + 4]
    V s = _mm512_add_ps(_mm512_shuffle_ps(lo, hi, 0x44), _mm512_shuffle_ps(lo, hi, 0xEE));
    s = _mm512_add_ps(s, _mm512_permute_ps(s, 0xB1));  // block k: lane 0 = sum v[k], lane 2 = sum v[k + 4]
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 2, 6, 10, 14, 0, 0, 0, 0, 0, 0, 0, 0);
    _mm256_storeu_ps(out, _mm512_castps512_ps256(_mm512_permutexvar_ps(order, s)));
  }
};

}  // namespace

template <> Kernels<float> kernels_avx512<float>() { return Impl<Avx512F>::table(); }

}  // namespace tt::kernels::convk
