// Reductions over any set of axes: sum, mean, max, min, prod, any, all,
// and argmax/argmin along one axis. Every output element is reduced in the
// same order whatever the thread count (long reductions are cut into chunks
// of a fixed size, combined in order), so results are bitwise reproducible.
#pragma once
#include <vector>

#include "../core/tensor.h"

namespace tt::kernels {

enum class Reduce : int { sum, mean, max, min, prod, any, all };

// `axes` may be negative and in any order; an empty list reduces nothing
// (returns a copy). float32 sums accumulate in double.
Tensor reduce(Reduce op, const Tensor& x, std::vector<int> axes, bool keepdims);
Tensor arg_reduce(bool is_max, const Tensor& x, int axis, DType out_dtype);

// Sums `x` down to `shape` (the inverse of broadcasting `shape` to x.shape):
// the gradient of every broadcasting op.
Tensor sum_to_shape(const Tensor& x, const Shape& shape);

}  // namespace tt::kernels
