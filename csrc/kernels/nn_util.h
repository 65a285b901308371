// Helpers shared by the nn kernels (internal to loss.cpp and norm.cpp):
// argument checks and a vectorisable row sum.
#pragma once
#include <cmath>
#include <cstdint>

#include "../core/tensor.h"

namespace tt::kernels::nn_detail {

inline void check_float(const char* op, const Tensor& t, const char* name) {
  TT_TYPE_CHECK(is_floating(t.dtype), op, ": ", name, " must be float32 or float64, got ", dtype_name(t.dtype));
}

// `t` must have the shape and dtype of `ref`.
inline void check_like(const char* op, const Tensor& t, const char* name, const Tensor& ref, const char* ref_name) {
  TT_CHECK(t.shape == ref.shape, op, ": ", name, " must have the shape of ", ref_name, " ", ref.shape, ", got ",
           t.shape);
  TT_TYPE_CHECK(t.dtype == ref.dtype, op, ": ", name, " must have the dtype of ", ref_name, " (",
                dtype_name(ref.dtype), "), got ", dtype_name(t.dtype));
}

// Optional per-channel parameter (gamma, beta, mean, var): shape `shape`, dtype of x.
inline void check_param(const char* op, const Tensor* t, const char* name, const Shape& shape, const Tensor& x) {
  if (!t) return;
  TT_CHECK(t->shape == shape, op, ": ", name, " must have shape ", shape, " for input of shape ", x.shape, ", got ",
           t->shape);
  TT_TYPE_CHECK(t->dtype == x.dtype, op, ": ", name, " must have the dtype of x (", dtype_name(x.dtype), "), got ",
                dtype_name(t->dtype));
}

inline void check_epsilon(const char* op, double eps) {
  TT_CHECK(eps > 0 && eps < INFINITY, op, ": epsilon must be a positive finite number, got ", eps);
}

// sum of f(j) for j in [0, n), in double, with 8 independent partial sums:
// the compiler can vectorise it without reassociating anything, and the
// order of additions is fixed by this code (not by threads or ISA).
template <typename F>
inline double sum_of(int64_t n, const F& f) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  const int64_t n8 = n - n % 8;
  for (int64_t j = 0; j < n8; j += 8)
    for (int k = 0; k < 8; ++k) acc[k] += f(j + k);
  for (int64_t j = n8; j < n; ++j) acc[0] += f(j);
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

}  // namespace tt::kernels::nn_detail
