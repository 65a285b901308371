// Counter-based random numbers (Philox4x32-10): element i of a call depends
// only on (seed, offset + i), never on the thread that computes it, so the
// same seed gives the same bits for any thread count.
#pragma once
#include <cstdint>

#include "../core/tensor.h"

namespace tt::kernels {

enum class Distribution { uniform, normal, truncated_normal };

// Fills `out` (float tensor, or int32/int64 for uniform integers in [lo, hi))
// with values of stream `seed` starting at element `offset`.
// uniform: [a, b); normal: mean a, stddev b; truncated_normal: mean a, stddev b, resampled beyond 2 stddev.
void random_fill(const Tensor& out, Distribution dist, uint64_t seed, uint64_t offset, double a, double b);

}  // namespace tt::kernels
