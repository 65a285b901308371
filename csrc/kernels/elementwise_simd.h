// Rows of the transcendental elementwise ops that are worth compiling per
// ISA (elementwise_avx2.cpp, elementwise_avx512.cpp; the baseline copy is in
// elementwise.cpp): the loops are branch-free so the compiler vectorises them
// at the width the file is built for.
#pragma once
#include <cmath>
#include <cstdint>

#include "expf.h"

namespace tt::kernels {

using FloatRowFn = void (*)(float* out, const float* in, int64_t n);

struct ElementwiseRows {
  FloatRowFn exp_f32;
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

inline ElementwiseRows make_elementwise_rows() { return {exp_row_f32}; }

}  // namespace
}  // namespace tt::kernels
