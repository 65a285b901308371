// Image kernels behind the Keras preprocessing layers. Inputs are NHWC
// batches of uint8, int32, int64, float32 or float64; outputs are float32 or
// float64 (`out`), as Keras' layers return floats. Per-image parameters
// (flip flags, crop offsets, transforms, factors) are drawn by the caller, so
// every kernel is a pure function: each output row is written by one thread
// and results do not depend on the thread count.
#pragma once
#include <string>

#include "../core/tensor.h"

namespace tt::kernels {

enum class Interpolation { nearest, bilinear };
// How points outside the image are read (tf.raw_ops.ImageProjectiveTransformV3):
// reflect (d c b a | a b c d | d c b a), wrap (a b c d | a b c d), constant
// (fill_value), nearest (a a | a b c d | d d).
enum class FillMode { reflect, wrap, constant, nearest };

Interpolation parse_interpolation(const std::string& name, const char* op);
FillMode parse_fill_mode(const std::string& name, const char* op);

// Output pixel (column x, row y) of image n reads the input at
// (a0 x + a1 y + a2, b0 x + b1 y + b2), pixel centres at integer coordinates,
// with transforms[n] = (a0, a1, a2, b0, b1, b2): float32 [N, 6] or [1, 6] (one
// for all). Rotation, zoom and translation are such maps.
Tensor image_affine(const Tensor& x, const Tensor& transforms, Interpolation interp, FillMode fill, double fill_value,
                    DType out);

// tf.image.resize (half-pixel centres, no antialiasing) of the window
// rows [top, top + crop_h) x columns [left, left + crop_w) of every image
// to height x width. The window must lie inside the image.
Tensor image_resize(const Tensor& x, int64_t height, int64_t width, Interpolation interp, int64_t top, int64_t left,
                    int64_t crop_h, int64_t crop_w, DType out);

// flags: uint8 [N]; bit 0 flips image n left-right, bit 1 top-bottom.
Tensor image_flip(const Tensor& x, const Tensor& flags, DType out);

// offsets: int32/int64 [N, 2] (top, left) of each image's height x width window.
Tensor image_crop(const Tensor& x, const Tensor& offsets, int64_t height, int64_t width, DType out);

// Per image n and channel: (x - mean) * factors[n] + mean, clipped to [lo, hi];
// mean over the image's pixels. factors: float32/float64 [N].
Tensor image_contrast(const Tensor& x, const Tensor& factors, double lo, double hi, DType out);

// x + deltas[n], clipped to [lo, hi]. deltas: float32/float64 [N].
Tensor image_brightness(const Tensor& x, const Tensor& deltas, double lo, double hi, DType out);

}  // namespace tt::kernels
