// 2-D convolution in NHWC with HWIO filters (Keras/TF layouts): forward,
// fused backward, and the separate input/filter gradients.
//
// Two strategies, chosen by shape:
//  - GEMM: the output pixels are rows of an im2col matrix (columns ordered
//    kh, kw, ci like an HWIO filter reshaped to [KH*KW*Cin, Cout]); im2col is
//    built in cache-sized blocks and each block goes through gemm<T>
//    (a 1x1 unit-stride conv uses the input itself). Backward: per block,
//    dw += im2col^T g, db += column sums of g, dx += col2im(g w^T).
//  - direct (Cin <= kDirectMaxCin): first layers, where K = KH*KW*Cin is too
//    small for GEMM; vectorised kernels read a zero-padded copy of the input
//    and compute dx in gather form (conv_kernels.h, one build per ISA).
//  - Winograd F(4x4, 3x3) or F(2x2, 3x3) (float32, 3x3, unit stride and
//    dilation, >= 32 channels each side; the tile size whose tiles waste the
//    least work at the output's edges): the forward, dx and dw, in fixed
//    blocks of tiles, 36 or 16 GEMMs each between the transforms (conv.cpp).
//    F(4x4) rounds more: ~6e-6 of the largest output in float32, against
//    ~3e-7 for F(2x2) and GEMM.
// Threads: the forward splits pixel blocks between threads (gemm then runs
// serially inside; with a single block gemm threads itself). The backward
// splits the batch into at most kGroups groups of whole images; each group
// sums its own partial dw/db, and the partials are added in group order. The
// partition depends on the shapes only, so results are bitwise identical for
// any thread count. (A batch of one image runs its backward on one thread,
// apart from gemm's own threads.)
#pragma once
#include <array>
#include <cstdint>

#include "../core/tensor.h"
#include "activation.h"

namespace tt::kernels {

using Hw = std::array<int64_t, 2>;  // (height, width) pair: strides, dilations, ksize

// Padding as the caller gave it. SAME follows TensorFlow: out = ceil(in /
// stride), the total padding is split with the odd one after.
struct Padding {
  enum Kind { valid, same, explicit_ } kind = valid;
  int64_t top = 0, bottom = 0, left = 0, right = 0;  // explicit_ only
};

// One spatial axis of a sliding window: output size (may come out <= 0; the
// caller reports that) and the padding before and after.
struct Axis {
  int64_t out, pad_before, pad_after;
};
Axis window_axis(int64_t in, int64_t k, int64_t stride, int64_t dilation, Padding::Kind kind, int64_t pad_before,
                 int64_t pad_after);
const char* padding_name(const Padding& p);  // "VALID", "SAME" or "explicit"

// Everything a conv kernel needs to know about the shapes.
struct ConvGeom {
  int64_t N, H, W, C;  // input NHWC
  int64_t KH, KW, O;   // filter HWIO is (KH, KW, C, O)
  int64_t OH, OW;      // output is (N, OH, OW, O)
  int64_t sh, sw, dh, dw;
  int64_t pt, pb, pl, pr;  // padding top, bottom, left, right
  int64_t K() const { return KH * KW * C; }
  int64_t pixels() const { return N * OH * OW; }  // output pixels = GEMM rows
  Shape input_shape() const { return {N, H, W, C}; }
  Shape filter_shape() const { return {KH, KW, C, O}; }
  Shape output_shape() const { return {N, OH, OW, O}; }
};
ConvGeom conv_geometry(const char* op, const Shape& input, const Shape& filter, Hw strides, Hw dilations,
                       const Padding& pad);

constexpr int64_t kDirectMaxCin = 4;

Tensor conv2d(const Tensor& x, const Tensor& w, Hw strides, Hw dilations, const Padding& pad, const Tensor* bias,
              Act act);
// max_pool2d(conv2d(x, w, ..., bias, act), ksize, pool_strides, pool_pad,
// argmax) (pool.h), the same values; with the direct kernels (few input
// channels: a first layer, whose output is the largest tensor of a convnet)
// each image is convolved into cache and pooled from there, so that output
// never goes to memory. conv_shape is the convolution's output shape (the
// pool's input: what its backward needs).
struct PooledConv {
  Tensor y, argmax;
  Shape conv_shape;
};
PooledConv conv2d_max_pool(const Tensor& x, const Tensor& w, Hw strides, Hw dilations, const Padding& pad,
                           const Tensor* bias, Act act, Hw ksize, Hw pool_strides, const Padding& pool_pad);

// Backward of y = conv2d(x, w, ..., bias, act) given dy: g = dy * act'(y),
// dx = conv2d_backward_input(g), dw = conv2d_backward_filter(g), db = sum of g
// over N, H, W. dx / db are empty tensors when not asked for.
struct ConvGrads {
  Tensor dx, dw, db;
};
ConvGrads conv2d_backward(const Tensor& x, const Tensor& w, const Tensor& y, const Tensor& dy, Hw strides,
                          Hw dilations, const Padding& pad, Act act, bool need_dx, bool need_db);
// The same without an activation, for g the input gradient of a max pool over
// the convolution's output, still in parts (pool.h): the direct kernels (few
// input channels: a first layer, whose output is the largest tensor of a
// convnet) unpool it one image at a time into cache; the others get it whole.
class MaxPoolGradient;
ConvGrads conv2d_backward_pooled(const Tensor& x, const Tensor& w, const MaxPoolGradient& g, Hw strides,
                                 Hw dilations, const Padding& pad, bool need_dx, bool need_db);

Tensor conv2d_backward_input(const Tensor& dy, const Tensor& w, const Shape& input_shape, Hw strides, Hw dilations,
                             const Padding& pad);
Tensor conv2d_backward_filter(const Tensor& x, const Tensor& dy, const Shape& filter_shape, Hw strides, Hw dilations,
                              const Padding& pad);

// How the GEMM strategy cuts the pixels: forward blocks of `rows` output
// pixels (the last may be shorter); the backward cuts each of its `groups`
// groups of whole images likewise. Exposed for the C++ benchmark.
struct ConvBlocking {
  int64_t rows, blocks, groups;
};
ConvBlocking conv_blocking(const ConvGeom& g, size_t itemsize);
bool conv_uses_direct(const ConvGeom& g);
// The Winograd output tile (2 or 4) of float32 forward for g, 0 when forward
// does not use Winograd. Exposed for the C++ benchmark's labels.
int conv_winograd_tile(const ConvGeom& g);

}  // namespace tt::kernels
