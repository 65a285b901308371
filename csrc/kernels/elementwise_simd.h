// Rows of the transcendental elementwise ops that are worth compiling per
// ISA (elementwise_avx2.cpp, elementwise_avx512.cpp; the baseline copy is in
// elementwise.cpp): the loops are branch-free so the compiler vectorises them
// at the width the file is built for.
#pragma once
#include <cmath>
#include <cstdint>

#include "expf.h"
#include "random.h"

namespace tt::kernels {

using FloatRowFn = void (*)(float* out, const float* in, int64_t n);
using PhiloxBlockFn = void (*)(uint32_t key0, uint32_t key1, uint64_t idx0, uint32_t sub, uint32_t* out);

struct ElementwiseRows {
  FloatRowFn exp_f32, sigmoid_f32, tanh_f32;
  PhiloxBlockFn philox_block;  // random bits: Philox::block
};

const ElementwiseRows& elementwise_rows_avx2();
const ElementwiseRows& elementwise_rows_avx512();

namespace {

// e^x: the polynomial on every element (a clamp in this loop stops GCC
// vectorising it), then libm for the rare inputs outside the polynomial's
// range (overflow, denormal results, NaN), found by a vectorised scan.
void exp_row_f32(float* o, const float* a, int64_t n) {
  constexpr float lo = -87.3f, hi = 88.3f;
  int outside = 0;
  for (int64_t i = 0; i < n; ++i) {
    o[i] = expf_core(a[i]);
    outside |= int(!(a[i] >= lo)) | int(!(a[i] <= hi));
  }
  if (outside)
    for (int64_t i = 0; i < n; ++i)
      if (!(a[i] >= lo && a[i] <= hi)) o[i] = std::exp(a[i]);
}

// 1 / (1 + e^-x) with libm, stable for large |x| (the float64 loops, and the
// float32 row's fallback).
template <typename T>
inline T sigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

// 1 / (1 + e^-x) with the polynomial; sigmoid() where -x is outside its
// range (and for NaN).
void sigmoid_row_f32(float* o, const float* a, int64_t n) {
  constexpr float lo = -88.3f, hi = 87.3f;
  int outside = 0;
  for (int64_t i = 0; i < n; ++i) {
    o[i] = 1.0f / (1.0f + expf_core(-a[i]));
    outside |= int(!(a[i] >= lo)) | int(!(a[i] <= hi));
  }
  if (outside)
    for (int64_t i = 0; i < n; ++i)
      if (!(a[i] >= lo && a[i] <= hi)) o[i] = sigmoid(a[i]);
}

void tanh_row_f32(float* o, const float* a, int64_t n) {
  for (int64_t i = 0; i < n; ++i) o[i] = tanhf_core(a[i]);
}

inline ElementwiseRows make_elementwise_rows() { return {exp_row_f32, sigmoid_row_f32, tanh_row_f32, philox_counters<Philox::kBlock>}; }

}  // namespace
}  // namespace tt::kernels
