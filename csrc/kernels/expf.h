// The float e^x shared by the fused softmax (loss.cpp) and the recurrent
// cells (rnn_impl.h): x = k ln2 + r (ln2 in two parts, Cody-Waite), e^r by
// the Cephes expf polynomial, 2^k from its bit pattern. Under 1 ulp on
// [-87.3, 88.3]; outside it the callers clamp or mask. No branches, so
// loops over it vectorise. Also the float tanh built on it.
//
// Included by per-ISA files, hence the anonymous namespace: the linker must
// never hand one ISA's copy to code built for another (see gemm_blocked.h).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace tt::kernels {
namespace {

template <typename To, typename From>
inline To bit_cast(From v) {
  To t;
  std::memcpy(&t, &v, sizeof t);
  return t;
}

inline float expf_core(float x) {
  const float shifter = 0x1.8p23f;  // adding it rounds to an integer
  const float t = x * 1.44269504088896341f + shifter;
  const float k = t - shifter;  // round(x / ln2)
  const float r = (x - k * 0.693359375f) + k * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  return p * bit_cast<float>((bit_cast<uint32_t>(t) - 0x4B400000u + 127u) << 23);  // p * 2^k
}

// Cephes' odd polynomial for float tanh on |x| < kTanhPolyBound: tanh(x) ~
// x + x z P(z) with z = x^2, P's coefficients from the highest power down.
constexpr float kTanhPoly[5] = {-5.70498872745e-3f, 2.06390887954e-2f, -5.37397155531e-2f, 1.33314422036e-1f,
                                -3.33332819422e-1f};
constexpr float kTanhPolyBound = 0.625f;

// P(z) by Horner.
inline float tanh_poly(float z) {
  float p = kTanhPoly[0];
  for (int k = 1; k < 5; ++k) p = p * z + kTanhPoly[k];
  return p;
}

// tanh: the odd polynomial near 0, where 1 - 2 / (e^2|x| + 1) would cancel,
// that form elsewhere, the sign put back (tanh(-0) = -0). Within 1.3 ulp of
// the float64 tanh. Past |x| = 9.1 the float result is exactly +-1, so the
// argument is clamped there (keeping e^2|x| finite); NaN passes through.
inline float tanhf_core(float x) {
  const float ax = std::fabs(x), z = x * x;
  const float c = ax > 9.1f ? 9.1f : ax;
  const float big = 1.0f - 2.0f / (expf_core(2.0f * c) + 1.0f);
  const float small = tanh_poly(z) * z * ax + ax;
  return std::copysign(ax < kTanhPolyBound ? small : big, x);
}

}  // namespace
}  // namespace tt::kernels
