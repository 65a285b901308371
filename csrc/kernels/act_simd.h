// The fusable activations (activation.h) on SIMD vectors, written once over a
// traits type S (see gemm_blocked.h) so every ISA file gets its own build.
// sigmoid and tanh come from a vector exp: a few ulp from libm in float32
// and in float64, NaN in gives NaN out.
//
// Included only by the per-ISA files, hence the anonymous namespace (see the
// note at the top of gemm_blocked.h).
#pragma once
#include "activation.h"
#include "expf.h"

namespace tt::kernels::gemm_detail {
namespace {

// S needs, besides the arithmetic: sub, div, round (to nearest integer),
// scale2(p, n) = p * 2^n for integral n, select_lt(a, b, x, y) = a < b ? x : y.

// 1/k! for k = 0..N: the Taylor coefficients of e^r.
template <typename T, int N>
struct InvFactorials {
  static constexpr int degree = N;
  T v[N + 1];
  constexpr InvFactorials() : v() {
    v[0] = T(1);
    for (int k = 1; k <= N; ++k) v[k] = v[k - 1] / T(k);
  }
};

// e^x: x = n ln2 + r with |r| <= ln2/2, e^r by its Taylor series (degree 7
// for float, 13 for double: truncation below half an ulp), times 2^n.
template <class S>
typename S::V vexp(typename S::V x) {
  using T = typename S::T;
  constexpr bool dbl = sizeof(T) == 8;
  // Bounds keep 2^n a normal number; max/min keep a NaN (the second operand wins).
  const T lo = dbl ? T(-708.3) : T(-87.3), hi = dbl ? T(709.0) : T(88.3);
  x = S::min(S::set1(hi), S::max(S::set1(lo), x));
  const typename S::V n = S::round(S::mul(x, S::set1(T(1.4426950408889634))));
  // ln2 split in a short high part (n * hi exact) and the rest.
  const T ln2_hi = dbl ? T(6.93145751953125e-1) : T(0.693359375);
  const T ln2_lo = dbl ? T(1.42860682030941723212e-6) : T(-2.12194440e-4);
  typename S::V r = S::fma(n, S::set1(-ln2_hi), x);
  r = S::fma(n, S::set1(-ln2_lo), r);
  static constexpr InvFactorials<T, dbl ? 13 : 7> c{};
  typename S::V p = S::set1(c.v[c.degree]);
#pragma GCC unroll 16
  for (int k = c.degree - 1; k >= 0; --k) p = S::fma(p, r, S::set1(c.v[k]));
  return S::scale2(p, n);
}

// Below the bound of vexp, 1 / (1 + e^-x) would stop falling: 0 there.
template <class S>
__attribute__((noinline)) typename S::V vsigmoid(typename S::V x) {
  using T = typename S::T;
  const typename S::V one = S::set1(T(1));
  const typename S::V y = S::div(one, S::add(one, vexp<S>(S::sub(S::zero(), x))));
  return S::select_lt(x, S::set1(sizeof(T) == 8 ? T(-709.0) : T(-88.3)), S::zero(), y);
}

// tanh: an odd polynomial/rational fit for |x| < 0.625 (Cephes), otherwise
// (1 - e) / (1 + e) with e = exp(-2|x|), which has no cancellation there.
template <class S>
__attribute__((noinline)) typename S::V vtanh(typename S::V x) {
  using T = typename S::T;
  using V = typename S::V;
  const V ax = S::max(x, S::sub(S::zero(), x));
  const V e = vexp<S>(S::mul(ax, S::set1(T(-2))));
  const V one = S::set1(T(1));
  V big = S::div(S::sub(one, e), S::add(one, e));
  big = S::select_lt(x, S::zero(), S::sub(S::zero(), big), big);
  const V z = S::mul(x, x);
  V small;
  if constexpr (sizeof(T) == 8) {
    V p = S::fma(S::fma(S::set1(T(-9.64399179425052238628e-1)), z, S::set1(T(-9.92877231001918586564e1))), z,
                 S::set1(T(-1.61468768441708447952e3)));
    V q = S::fma(S::fma(S::add(z, S::set1(T(1.12811678491632931402e2))), z, S::set1(T(2.23548839060100448583e3))),
                 z, S::set1(T(4.84406305325125486048e3)));
    small = S::fma(S::mul(x, z), S::div(p, q), x);
  } else {
    V p = S::set1(kTanhPoly[0]);
    for (int k = 1; k < 5; ++k) p = S::fma(p, z, S::set1(kTanhPoly[k]));
    small = S::fma(S::mul(p, z), x, x);
  }
  return S::select_lt(ax, S::set1(T(kTanhPolyBound)), small, big);
}

// Inline for the cheap cases; sigmoid and tanh stay calls.
template <class S>
inline typename S::V vact(Act act, typename S::V x) {
  using T = typename S::T;
  switch (act) {
    case Act::none: return x;
    // Operand order as act_forward for NaN (max/min return the second operand
    // when one is NaN): relu(NaN) = 0, relu6(NaN) = NaN.
    case Act::relu: return S::max(x, S::zero());
    case Act::relu6: return S::min(S::set1(T(6)), S::max(S::zero(), x));
    case Act::sigmoid: return vsigmoid<S>(x);
    case Act::tanh: return vtanh<S>(x);
  }
  return x;
}

}  // namespace
}  // namespace tt::kernels::gemm_detail
