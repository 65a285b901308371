// Indexing and data movement with TensorFlow's semantics: gather (and its
// gradient, the dense scatter-add behind embeddings), one_hot, concat, pad,
// tile. Inputs may have any strides; outputs are new contiguous tensors.
// Everything is validated before any work starts: indices out of range raise
// IndexError, bad shapes/axes ValueError, bad dtypes TypeError.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "../core/tensor.h"

namespace tt::kernels {

// tf.gather: out[b.., o.., j.., i..] = params[b.., o.., indices[b.., j..], i..], where b are the
// first batch_dims axes (shared by params and indices), o the params axes before `axis`, and
// i those after it. Any dtype; indices int32/int64 in [0, params.shape[axis]).
// Negative axis/batch_dims count from the end of params/indices.
Tensor gather(const Tensor& params, const Tensor& indices, int axis, int batch_dims);

// The gradient of gather with respect to params: zeros(params_shape) with each
// row of dy added at its index. Duplicate indices accumulate in index order, so
// the result is bitwise the same for any thread count. dy: float32/float64.
Tensor gather_backward(const Tensor& dy, const Tensor& indices, const Shape& params_shape, int axis, int batch_dims);

// tf.one_hot: a new axis of length depth at `axis` (-1: last), on_value where the
// index equals the position, off_value elsewhere; out-of-range (or negative)
// indices give all off. indices int32/int64/uint8; any output dtype.
Tensor one_hot(const Tensor& indices, int64_t depth, double on_value, double off_value, int axis, DType dtype);

// tf.concat along `axis` (negative counts from the end); same dtype and rank,
// equal dims except on `axis`. Any dtype.
Tensor concat(const std::vector<Tensor>& tensors, int axis);

// tf.pad with paddings[d] = {before, after} >= 0. mode CONSTANT (constant_value,
// cast to x's dtype), REFLECT (padding < dim) or SYMMETRIC (padding <= dim),
// case-insensitive. Any dtype.
Tensor pad(const Tensor& x, const std::vector<std::pair<int64_t, int64_t>>& paddings, const std::string& mode,
           double constant_value);

// tf.tile: out.shape[d] = x.shape[d] * multiples[d] (multiples >= 0). Any dtype.
Tensor tile(const Tensor& x, const std::vector<int64_t>& multiples);

}  // namespace tt::kernels
