// 2-D max and average pooling in NHWC, forward and backward.
// Padding follows TensorFlow: SAME (and explicit) padding is never a value:
// max pooling ignores it and average pooling divides by the number of input
// elements inside the window.
#pragma once
#include <algorithm>
#include <vector>

#include "conv.h"

namespace tt::kernels {

// A pooling window over an N x H x W x C input: ksize KH x KW, strides sh x
// sw, an OH x OW output, pt / pl padding rows / columns before.
struct PoolGeom {
  int64_t N, H, W, C, KH, KW, sh, sw, OH, OW, pt, pl;

  // Window rows [kh0, kh1) of output row oh that lie inside the input, and
  // likewise columns: padding is never part of a window.
  void rows(int64_t oh, int64_t& h0, int64_t& kh0, int64_t& kh1) const {
    h0 = oh * sh - pt;
    kh0 = std::max<int64_t>(0, -h0);
    kh1 = std::min(KH, H - h0);
  }
  void cols(int64_t ow, int64_t& w0, int64_t& kw0, int64_t& kw1) const {
    w0 = ow * sw - pl;
    kw0 = std::max<int64_t>(0, -w0);
    kw1 = std::min(KW, W - w0);
  }
  // Output columns [lo, hi) whose windows have every column inside the input.
  void full_cols(int64_t& lo, int64_t& hi) const {
    lo = std::min(OW, (pl + sw - 1) / sw);
    hi = W - KW + pl >= 0 ? std::min(OW, (W - KW + pl) / sw + 1) : 0;
    hi = std::max(hi, lo);
  }
  Shape output_shape() const { return {N, OH, OW, C}; }
  // Window places fit in a byte for windows up to 16 x 16.
  DType argmax_dtype() const { return KH * KW <= 256 ? DType::u8 : DType::i32; }
  int64_t row_grain() const { return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, OW * KH * KW * C)); }
};

// The geometry of a pooling window over an input of shape `in`, checked.
PoolGeom pool_geometry(const char* op, const Shape& in, Hw ksize, Hw strides, const Padding& pad);

// With `argmax`, *argmax receives, per output element, where in its window
// the first maximum in row-major scan order is: kh * KW + kw (uint8 for
// windows of at most 256 elements, else int32). NaN is a maximum only when
// the scan meets it first.
Tensor max_pool2d(const Tensor& x, Hw ksize, Hw strides, const Padding& pad, Tensor* argmax = nullptr);
// The same for images [n0, n1) only, on the calling thread: x holds their
// pixels (contiguous, image n0 first, in y's dtype); y and argmax are the
// whole outputs. For a producer that makes the input an image at a time
// into cache (conv2d_max_pool).
void max_pool2d_images(const PoolGeom& g, const void* x, int64_t n0, int64_t n1, Tensor& y, Tensor& argmax);
// The gradient of each window goes to its first maximum, as TensorFlow's
// MaxPoolGrad: the element `argmax` (from max_pool2d) points to.
Tensor max_pool2d_backward(const Tensor& dy, const Tensor& argmax, const Shape& input_shape, Hw ksize, Hw strides,
                           const Padding& pad);

// That gradient in parts: checked once, then images(n0, n1, dx) writes the
// input gradient of images [n0, n1) to dx (their pixels, contiguous, in dy's
// dtype), so that a consumer can take it one image at a time from cache
// instead of whole from memory (conv2d_backward_pooled).
class MaxPoolGradient {
 public:
  MaxPoolGradient(const Tensor& dy, const Tensor& argmax, const Shape& input_shape, Hw ksize, Hw strides,
                  const Padding& pad);
  Shape input_shape() const { return {g_.N, g_.H, g_.W, g_.C}; }
  DType dtype() const { return dy_.dtype; }
  const Tensor& pooled() const { return dy_; }  // the gradient of the pool's output (contiguous)
  void images(int64_t n0, int64_t n1, void* dx) const;
  Tensor whole() const;  // max_pool2d_backward's result

 private:
  PoolGeom g_;
  Tensor dy_, argmax_;
  std::vector<char> covered_h_, covered_w_;
  bool disjoint_ = true, gaps_ = false;
};

Tensor avg_pool2d(const Tensor& x, Hw ksize, Hw strides, const Padding& pad);
Tensor avg_pool2d_backward(const Tensor& dy, const Shape& input_shape, Hw ksize, Hw strides, const Padding& pad);

}  // namespace tt::kernels
