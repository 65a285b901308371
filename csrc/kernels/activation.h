// Activations that kernels can fuse into their epilogue (Dense, Conv2D):
// exactly those whose derivative can be written with the output y alone, so
// a fused backward needs no copy of the pre-activation.
#pragma once
#include <algorithm>
#include <cmath>

#include "../core/check.h"

namespace tt::kernels {

enum class Act : int { none = 0, relu = 1, relu6 = 2, sigmoid = 3, tanh = 4 };

inline const char* act_name(Act a) {
  switch (a) {
    case Act::none: return "linear";
    case Act::relu: return "relu";
    case Act::relu6: return "relu6";
    case Act::sigmoid: return "sigmoid";
    case Act::tanh: return "tanh";
  }
  return "?";
}

template <typename T>
inline T act_forward(Act a, T x) {
  switch (a) {
    case Act::none: return x;
    case Act::relu: return x > T(0) ? x : T(0);
    case Act::relu6: return std::min(std::max(x, T(0)), T(6));
    case Act::sigmoid: return T(1) / (T(1) + std::exp(-x));
    case Act::tanh: return std::tanh(x);
  }
  return x;
}

// d act / dx, written with y = act(x).
template <typename T>
inline T act_grad_from_output(Act a, T y) {
  switch (a) {
    case Act::none: return T(1);
    case Act::relu: return y > T(0) ? T(1) : T(0);
    case Act::relu6: return (y > T(0) && y < T(6)) ? T(1) : T(0);
    case Act::sigmoid: return y * (T(1) - y);
    case Act::tanh: return T(1) - y * y;
  }
  return T(1);
}

// dx[i] = dy[i] * act'(y[i]) over n contiguous elements (dx may alias dy).
template <typename T>
inline void act_backward(Act a, const T* y, const T* dy, T* dx, int64_t n) {
  if (a == Act::none) {
    if (dx != dy) std::copy(dy, dy + n, dx);
    return;
  }
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * act_grad_from_output(a, y[i]);
}

}  // namespace tt::kernels
