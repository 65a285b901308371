// A Dense stack's training step in one call: forward, fused softmax
// cross-entropy, backward (gemm.h). It chains the same kernels the layer-by-
// layer path runs; what it saves is the Python between them.
#include <cmath>

#include "gemm.h"
#include "nn.h"

namespace tt::kernels {

DenseStackGrads dense_stack_gradients(const DenseStack& s, const Tensor& x, const Tensor& labels,
                                      const Tensor* weights) {
  const size_t n = s.w.size();
  TT_CHECK(n > 0 && x.ndim() == 2 && x.shape[0] > 0, "dense stack gradients: expected a non-empty batch of rows, got x ",
           x.shape);
  const int64_t M = x.shape[0];
  if (weights)
    TT_TYPE_CHECK(weights->ndim() == 1 && weights->shape[0] == M && weights->dtype == x.dtype,
                  "dense stack gradients: weights must be a vector of ", M, " ", dtype_name(x.dtype),
                  " values, got ", weights->shape, " ", dtype_name(weights->dtype));

  std::vector<Tensor> out(n);  // out[i]: layer i's output (the last: the logits)
  for (size_t i = 0; i < n; ++i)
    out[i] = dense_forward(i ? out[i - 1] : x, s.w[i], s.b[i] ? &*s.b[i] : nullptr, s.act[i]);
  const Tensor& logits = out.back();
  LossGrad xent = labels.ndim() == 1 ? sparse_softmax_cross_entropy(logits, labels)
                                     : softmax_cross_entropy(logits, labels, -1);

  DenseStackGrads r;
  r.probs = softmax(logits, -1);
  TT_DISPATCH_FLOAT(x.dtype, "dense stack gradients", [&](auto tag) {
    using T = decltype(tag);
    const T* loss = xent.loss.data<T>();
    const Tensor wc = weights ? weights->contiguous() : Tensor();
    const T* w = weights ? wc.data<T>() : nullptr;
    T* d = xent.dlogits.data<T>();
    const int64_t C = logits.shape[1];
    double total = 0;
    for (int64_t i = 0; i < M; ++i) {
      const double wi = w ? double(w[i]) : 1.0;
      total += wi * double(loss[i]);
      const T scale = T(wi / double(M));
      for (int64_t j = 0; j < C; ++j) d[i * C + j] *= scale;
    }
    r.loss = total / double(M);
  });

  std::vector<DenseGrads> g(n);
  for (size_t i = n; i-- > 0;)
    g[i] = dense_backward(i ? out[i - 1] : x, s.w[i], out[i], i + 1 < n ? g[i + 1].dx : xent.dlogits, s.act[i], i > 0,
                          bool(s.b[i]));
  for (size_t i = 0; i < n; ++i) {
    r.grads.push_back(std::move(g[i].dw));
    if (s.b[i]) r.grads.push_back(std::move(g[i].db));
  }
  return r;
}

}  // namespace tt::kernels
