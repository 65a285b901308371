// Inverted dropout with a counter-based mask (see nn.h).
#include <algorithm>
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

Tensor dropout(const Tensor& x_, double rate, uint64_t seed, uint64_t offset, Tensor* factors) {
  TT_CHECK(rate >= 0 && rate < 1, "dropout: rate must be in [0, 1), got ", rate);
  return TT_DISPATCH_FLOAT(x_.dtype, "dropout", [&](auto tag) {
    using T = decltype(tag);
    const Tensor x = x_.contiguous();
    Tensor y = Tensor::empty(x.shape, x.dtype);
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    if (factors) *factors = Tensor::empty(x.shape, x.dtype);
    T* fp = factors ? factors->data<T>() : nullptr;
    const T scale = T(1.0 / (1.0 - rate));
    // Keep iff the element's 32-bit word >= rate * 2^32 (probability 1 - rate).
    // In 32 bits so that the mask loop vectorises; a threshold of 2^32 keeps nothing.
    const uint64_t threshold = uint64_t(std::ceil(rate * 4294967296.0));
    const uint32_t thr32 = uint32_t(std::min<uint64_t>(threshold, 0xFFFFFFFFu));
    const T scale_kept = threshold > 0xFFFFFFFFu ? T(0) : scale;
    const Philox gen(seed);
    parallel_for(0, x.numel(), 4096, [&](int64_t i0, int64_t i1) {
      const T s = scale_kept;
      const uint32_t thr = thr32;
      uint32_t w[4 * Philox::kBlock];
      // Element i takes word (offset + i) % 4 of counter (offset + i) / 4;
      // the counters come a block at a time.
      for (int64_t i = i0; i < i1;) {
        const uint64_t first = (offset + uint64_t(i)) / 4;
        gen.block(first, kDropoutStream, w);
        const uint32_t* word = w + (offset + uint64_t(i) - 4 * first);  // word[k] belongs to element i + k
        const int64_t stop = std::min<int64_t>(i1, int64_t(4 * (first + Philox::kBlock) - offset));
        // x times (keep ? s : 0), a select the loop vectorises (the mask is
        // random: a branch would mispredict), and a multiply of x so that
        // NaN/inf propagate as in TF.
        if (fp)
          for (int64_t k = 0; k < stop - i; ++k) {
            fp[i + k] = word[k] >= thr ? s : T(0);
            yp[i + k] = xp[i + k] * fp[i + k];
          }
        else
          for (int64_t k = 0; k < stop - i; ++k) yp[i + k] = xp[i + k] * (word[k] >= thr ? s : T(0));
        i = stop;
      }
    });
    return y;
  });
}

}  // namespace tt::kernels
