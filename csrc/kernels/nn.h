// The "nn" kernel family: softmax and log-softmax, fused cross-entropies,
// batch and layer normalisation, dropout (loss.cpp, norm.cpp, dropout.cpp).
//
// All kernels take float32 or float64 tensors of any strides (made
// contiguous internally), return new contiguous tensors, validate every
// argument before any parallel work (ValueError / TypeError / IndexError
// naming the op and the shapes), and give bitwise identical results for any
// thread count: per-row results are computed by one thread, and sums over
// rows (batch statistics, dgamma, dbeta) use blocks whose size depends only
// on the shape, added in a fixed order. Sums are accumulated in double.
#pragma once
#include <cstdint>

#include "../core/tensor.h"

namespace tt::kernels {

// --- softmax family (loss.cpp) ---------------------------------------------
// `axis` may be negative. Stable: exp(x - max(row)). An entry of -inf gets
// probability exactly 0 (log-probability -inf); a row that is all -inf gives
// NaN, as TensorFlow and PyTorch do (there is no distribution to return).
Tensor softmax(const Tensor& x, int axis);
Tensor log_softmax(const Tensor& x, int axis);
// dx = y * (dy - sum(dy * y)) along axis, from the forward output y.
Tensor softmax_backward(const Tensor& y, const Tensor& dy, int axis);
// dx = dy - exp(y) * sum(dy) along axis, from the forward output y.
Tensor log_softmax_backward(const Tensor& y, const Tensor& dy, int axis);

// Per-row (or per-element) loss and its gradient d loss / d logits; the
// caller multiplies dlogits by the upstream gradient of the loss.
struct LossGrad {
  Tensor loss, dlogits;
};

// loss = -sum(labels * log_softmax(logits)) along axis (labels: same shape
// and dtype, one-hot or soft); loss has logits' shape without `axis`.
// dlogits = softmax(logits) * sum(labels) - labels. A zero label contributes
// nothing even where the logit is -inf (masked classes stay finite).
LossGrad softmax_cross_entropy(const Tensor& logits, const Tensor& labels, int axis);
// labels: int32/int64 class indices of shape logits.shape[:-1]; a label
// outside [0, C) raises IndexError naming the value and its position.
LossGrad sparse_softmax_cross_entropy(const Tensor& logits, const Tensor& labels);
// Elementwise loss = max(x, 0) - x z + log1p(exp(-|x|)), dlogits = sigmoid(x) - z,
// with the limits taken at x = +-inf (0 when the label agrees, inf otherwise).
LossGrad sigmoid_cross_entropy(const Tensor& logits, const Tensor& labels);

// --- normalisation (norm.cpp) ----------------------------------------------
// gamma / beta may be null (scale 1, offset 0). epsilon must be > 0.
struct NormForward {
  Tensor y, mean, var_or_rstd;
};
struct NormGrads {
  Tensor dx, dgamma, dbeta;
};

// Channels-last batch normalisation in training mode: statistics over every
// axis but the last (C channels); var is the biased variance. gamma, beta,
// mean and var have shape (C,). An empty batch gives NaN statistics.
NormForward batch_norm_train(const Tensor& x, const Tensor* gamma, const Tensor* beta, double epsilon);
// Gradient of batch_norm_train (batch statistics depend on x) from its mean/var.
NormGrads batch_norm_backward(const Tensor& x, const Tensor& dy, const Tensor* gamma, const Tensor& mean,
                              const Tensor& var, double epsilon);
// y = (x - mean) / sqrt(var + eps) * gamma + beta with given (moving) statistics.
Tensor batch_norm_inference(const Tensor& x, const Tensor& mean, const Tensor& var, const Tensor* gamma,
                            const Tensor* beta, double epsilon);

// Normalises over the last `axis_count` axes (D elements per row); gamma and
// beta have the shape of those axes; mean and rstd = 1/sqrt(var + eps) have
// the shape of the leading axes.
NormForward layer_norm(const Tensor& x, const Tensor* gamma, const Tensor* beta, double epsilon, int axis_count);
NormGrads layer_norm_backward(const Tensor& x, const Tensor& dy, const Tensor* gamma, const Tensor& mean,
                              const Tensor& rstd, int axis_count);

// --- dropout (dropout.cpp) -------------------------------------------------
// y[i] = x[i] * (keep[i] ? 1 / (1 - rate) : 0), the scale rounded once to
// x's dtype. keep[i] = (w >= ceil(rate * 2^32)) where w is 32-bit word
// (offset + i) % 4 of Philox(seed) at counter (offset + i) / 4 in the dropout
// sub-stream. The mask depends only on (seed, offset + i), never on threads,
// so a tensor split in pieces at offsets o, o + n1, ... gets the same mask as
// in one call. rate in [0, 1). With `factors`, *factors receives the factor
// of each element (0 or the scale): the backward pass multiplies dy by it
// instead of drawing the mask again.
Tensor dropout(const Tensor& x, double rate, uint64_t seed, uint64_t offset, Tensor* factors = nullptr);

}  // namespace tt::kernels
