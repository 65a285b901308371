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

// dx[i] = dy[i] * act'(y[i]) over n contiguous elements (dx may alias dy).
// One loop per activation, with selects rather than a product by a 0/1
// flag, so that each vectorises: a branch on the sign of a ReLU output
// mispredicts half the time (it made the convnet's first-layer backward 15x
// slower).
template <typename T>
inline void act_backward(Act a, const T* y, const T* dy, T* dx, int64_t n) {
  switch (a) {
    case Act::none:
      if (dx != dy) std::copy(dy, dy + n, dx);
      break;
    case Act::relu:  // dy is loaded unconditionally: a load under the condition blocks if-conversion
      for (int64_t i = 0; i < n; ++i) {
        const T d = dy[i];
        dx[i] = y[i] > T(0) ? d : T(0);
      }
      break;
    case Act::relu6:
      for (int64_t i = 0; i < n; ++i) {
        const T d = dy[i], v = y[i];
        dx[i] = (v > T(0)) & (v < T(6)) ? d : T(0);
      }
      break;
    case Act::sigmoid:
      for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * (y[i] * (T(1) - y[i]));
      break;
    case Act::tanh:
      for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * (T(1) - y[i] * y[i]);
      break;
  }
}

}  // namespace tt::kernels
