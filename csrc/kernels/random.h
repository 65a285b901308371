// Counter-based random numbers (Philox4x32-10): element i of a call depends
// only on (seed, offset + i), never on the thread that computes it, so the
// same seed gives the same bits for any thread count. Kernels that need
// random bits (dropout) use the generator below directly.
#pragma once
#include <cstdint>

#include "../core/tensor.h"

namespace tt::kernels {

// Philox4x32-10 keyed by a 64-bit seed.
struct Philox {
  uint32_t key[2];
  explicit Philox(uint64_t seed) : key{uint32_t(seed), uint32_t(seed >> 32)} {}

  // Four independent 32-bit words for counter (idx, sub).
  void operator()(uint64_t idx, uint32_t sub, uint32_t out[4]) const;

  // The words of kBlock consecutive counters idx0, idx0 + 1, ...: word k of
  // counter idx0 + j goes to out[4 j + k], the bits operator() gives; compiled
  // for the CPU's ISA (32 x 32 -> 64-bit multiplies vectorise well only with
  // AVX2/AVX-512). Both are defined in elementwise.cpp.
  static constexpr int kBlock = 64;
  void block(uint64_t idx0, uint32_t sub, uint32_t out[4 * kBlock]) const;
};

namespace {
// The ten rounds of Philox4x32-10 on counters idx0 .. idx0 + B - 1, a loop
// over the counters the compiler vectorises. File-local on purpose: each ISA
// file compiles its own copy (see elementwise_simd.h), and the linker can
// never mix them up.
template <int B>
void philox_counters(uint32_t key0, uint32_t key1, uint64_t idx0, uint32_t sub, uint32_t* out) {
  uint32_t c0[B], c1[B], c2[B], c3[B];
  for (int j = 0; j < B; ++j) {
    c0[j] = uint32_t(idx0 + uint64_t(j));
    c1[j] = uint32_t((idx0 + uint64_t(j)) >> 32);
    c2[j] = sub;
    c3[j] = 0x9E3779B9u;
  }
  uint32_t k0 = key0, k1 = key1;
  for (int r = 0; r < 10; ++r, k0 += 0x9E3779B9u, k1 += 0xBB67AE85u)
    for (int j = 0; j < B; ++j) {
      const uint64_t p0 = uint64_t(0xD2511F53u) * c0[j], p1 = uint64_t(0xCD9E8D57u) * c2[j];
      const uint32_t n0 = uint32_t(p1 >> 32) ^ c1[j] ^ k0, n2 = uint32_t(p0 >> 32) ^ c3[j] ^ k1;
      c0[j] = n0, c1[j] = uint32_t(p1), c2[j] = n2, c3[j] = uint32_t(p0);
    }
  for (int j = 0; j < B; ++j) {
    out[4 * j] = c0[j];
    out[4 * j + 1] = c1[j];
    out[4 * j + 2] = c2[j];
    out[4 * j + 3] = c3[j];
  }
}
}  // namespace

enum class Distribution { uniform, normal, truncated_normal };

// Fills `out` (float tensor, or int32/int64 for uniform integers in [lo, hi))
// with values of stream `seed` starting at element `offset`.
// uniform: [a, b); normal: mean a, stddev b; truncated_normal: mean a, stddev b, resampled beyond 2 stddev.
void random_fill(const Tensor& out, Distribution dist, uint64_t seed, uint64_t offset, double a, double b);

}  // namespace tt::kernels
