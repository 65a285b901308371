// 2-D max and average pooling in NHWC, forward and backward.
// Padding follows TensorFlow: SAME (and explicit) padding is never a value:
// max pooling ignores it and average pooling divides by the number of input
// elements inside the window.
#pragma once
#include "conv.h"

namespace tt::kernels {

// With `argmax`, *argmax receives, per output element, where in its window
// the first maximum in row-major scan order is: kh * KW + kw (uint8 for
// windows of at most 256 elements, else int32). NaN is a maximum only when
// the scan meets it first.
Tensor max_pool2d(const Tensor& x, Hw ksize, Hw strides, const Padding& pad, Tensor* argmax = nullptr);
// The gradient of each window goes to its first maximum, as TensorFlow's
// MaxPoolGrad: the element `argmax` (from max_pool2d) points to.
Tensor max_pool2d_backward(const Tensor& dy, const Tensor& argmax, const Shape& input_shape, Hw ksize, Hw strides,
                           const Padding& pad);

Tensor avg_pool2d(const Tensor& x, Hw ksize, Hw strides, const Padding& pad);
Tensor avg_pool2d_backward(const Tensor& dy, const Shape& input_shape, Hw ksize, Hw strides, const Padding& pad);

}  // namespace tt::kernels
