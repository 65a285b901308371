// Convolution kernels for AVX2 + FMA (16 ymm registers).
#include <immintrin.h>

#include "conv_kernels.h"

namespace tt::kernels::convk {
namespace {

struct Avx2Tiles {
  static constexpr int kNV = 2, kFwdR = 6, kMaxKT = 6, kAcc = 12;
};

struct Avx2F : Avx2Tiles {
  using T = float;
  using V = __m256;
  static constexpr int width = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V set1(T x) { return _mm256_set1_ps(x); }
  static V load(const T* p) { return _mm256_loadu_ps(p); }
  static void store(T* p, V v) { _mm256_storeu_ps(p, v); }
  static void store_n(T* p, V v, int n) {
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    _mm256_maskstore_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx), v);
  }
  static V bcast(const T* p) { return _mm256_broadcast_ss(p); }
  static V reg(V v) {  // keeps v in a register (the compiler may not fold its load into uses)
    asm("" : "+v"(v));
    return v;
  }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V max(V a, V b) { return _mm256_max_ps(a, b); }
  static V min(V a, V b) { return _mm256_min_ps(a, b); }
  static T hsum(V v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static void hsum8(const V (&v)[8], T* out) {
    // hadd twice: lane block k of a holds 4 partial sums of v0..v3 (b: v4..v7).
    const V a = _mm256_hadd_ps(_mm256_hadd_ps(v[0], v[1]), _mm256_hadd_ps(v[2], v[3]));
    const V b = _mm256_hadd_ps(_mm256_hadd_ps(v[4], v[5]), _mm256_hadd_ps(v[6], v[7]));
    _mm256_storeu_ps(out, _mm256_add_ps(_mm256_permute2f128_ps(a, b, 0x20), _mm256_permute2f128_ps(a, b, 0x31)));
  }
};

}  // namespace

template <> Kernels<float> kernels_avx2<float>() { return Impl<Avx2F>::table(); }

}  // namespace tt::kernels::convk
