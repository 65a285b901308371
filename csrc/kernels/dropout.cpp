// Inverted dropout with a counter-based mask (see nn.h).
#include <cmath>

#include "../core/parallel.h"
#include "nn.h"
#include "random.h"

namespace tt::kernels {
namespace {
// Philox sub-stream reserved for dropout masks, so they never reuse the bits
// random_fill draws for the same seed (it uses sub-streams 0, 1, 2, ...).
constexpr uint32_t kDropoutStream = 0x64726F70;  // "drop"
}  // namespace

Tensor dropout(const Tensor& x_, double rate, uint64_t seed, uint64_t offset) {
  TT_CHECK(rate >= 0 && rate < 1, "dropout: rate must be in [0, 1), got ", rate);
  return TT_DISPATCH_FLOAT(x_.dtype, "dropout", [&](auto tag) {
    using T = decltype(tag);
    const Tensor x = x_.contiguous();
    Tensor y = Tensor::empty(x.shape, x.dtype);
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    const T scale = T(1.0 / (1.0 - rate));
    // Keep iff the element's 32-bit word >= rate * 2^32 (probability 1 - rate).
    const uint64_t threshold = uint64_t(std::ceil(rate * 4294967296.0));
    const Philox gen(seed);
    parallel_for(0, x.numel(), 4096, [&](int64_t i0, int64_t i1) {
      const T s = scale;
      const uint64_t thr = threshold;
      uint32_t w[4];
      // Element i takes word (offset + i) % 4 of counter (offset + i) / 4:
      // one generator call per four elements.
      for (int64_t i = i0; i < i1;) {
        const uint64_t idx = offset + uint64_t(i);
        gen(idx / 4, kDropoutStream, w);
        // keep ? s : 0 as a product, not a branch (the mask is random), and a
        // multiply of x so that NaN/inf propagate as in TF.
        for (uint64_t k = idx % 4; k < 4 && i < i1; ++k, ++i) yp[i] = xp[i] * (s * T(w[k] >= thr));
      }
    });
    return y;
  });
}

}  // namespace tt::kernels
