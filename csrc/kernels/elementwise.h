// Elementwise ops with numpy broadcasting: unary math and activations,
// binary arithmetic/comparison/logic, where(), and the fused derivatives
// the autograd layer uses for activations.
#pragma once
#include "../core/tensor.h"

namespace tt::kernels {

enum class Unary : int {
  // any numeric dtype
  neg, abs, sign, square,
  // float only
  sqrt, rsqrt, exp, expm1, log, log1p, reciprocal, sin, cos, floor, ceil, round, erf,
  relu, relu6, sigmoid, tanh, softplus, softsign, elu, selu, gelu, gelu_tanh, silu, leaky_relu,
  // bool only
  logical_not,
};

enum class Binary : int {
  add, sub, mul, div, floordiv, mod, pow, maximum, minimum, squared_difference,  // numeric, same dtype
  less, less_equal, greater, greater_equal, equal, not_equal,                    // any dtype -> bool
  logical_and, logical_or, logical_xor,                                          // bool
};

// `alpha`: the slope of leaky_relu, the alpha of elu.
Tensor unary(Unary op, const Tensor& x, double alpha = 0.0);
Tensor binary(Binary op, const Tensor& a, const Tensor& b);
Tensor where(const Tensor& cond, const Tensor& x, const Tensor& y);

// dx = dy * f'(x) (order 1) or dy * f''(x) (order 2) for the float unary ops
// in [relu, leaky_relu] plus erf; dy broadcasts against x.
Tensor unary_grad(Unary op, const Tensor& x, const Tensor& dy, double alpha, int order);

const char* unary_name(Unary op);
const char* binary_name(Binary op);

}  // namespace tt::kernels
