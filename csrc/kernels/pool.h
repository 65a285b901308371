// 2-D max and average pooling in NHWC, forward and backward.
// Padding follows TensorFlow: SAME (and explicit) padding is never a value:
// max pooling ignores it and average pooling divides by the number of input
// elements inside the window.
#pragma once
#include "conv.h"

namespace tt::kernels {

Tensor max_pool2d(const Tensor& x, Hw ksize, Hw strides, const Padding& pad);
// The gradient of each window goes to its first maximum in row-major scan
// order (as TensorFlow does): its first element bitwise equal to y, which
// must be max_pool2d's output for x.
Tensor max_pool2d_backward(const Tensor& x, const Tensor& y, const Tensor& dy, Hw ksize, Hw strides,
                           const Padding& pad);

Tensor avg_pool2d(const Tensor& x, Hw ksize, Hw strides, const Padding& pad);
Tensor avg_pool2d_backward(const Tensor& dy, const Shape& input_shape, Hw ksize, Hw strides, const Padding& pad);

}  // namespace tt::kernels
