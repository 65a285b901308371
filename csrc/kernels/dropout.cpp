// Inverted dropout with a counter-based mask (see nn.h).
#include "../core/parallel.h"
#include "nn.h"
#include "random.h"

namespace tt::kernels {

Tensor dropout(const Tensor& x_, double rate, uint64_t seed, uint64_t offset) {
  TT_CHECK(rate >= 0 && rate < 1, "dropout: rate must be in [0, 1), got ", rate);
  return TT_DISPATCH_FLOAT(x_.dtype, "dropout", [&](auto tag) {
    using T = decltype(tag);
    const Tensor x = x_.contiguous();
    Tensor y = Tensor::empty(x.shape, x.dtype);
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    const T scale = T(1.0 / (1.0 - rate));
    const Philox gen(seed);
    parallel_for(0, x.numel(), 4096, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        uint32_t w[4];
        gen(offset + uint64_t(i), 0, w);
        yp[i] = xp[i] * (uniform01(w) >= rate ? scale : T(0));  // a multiply, so NaN/inf propagate as in TF
      }
    });
    return y;
  });
}

}  // namespace tt::kernels
