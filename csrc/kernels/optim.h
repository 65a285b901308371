// Fused optimizer updates: one call updates every parameter of a model in
// place, with Keras 3's formulas (keras/src/optimizers/*.py) and its base
// optimizer's gradient clipping and decoupled weight decay.
//
// Every update takes lists of equal length: params (contiguous, updated in
// place), grads (same shapes and dtype, any layout) and the optimizer's slot
// tensors (contiguous, same shapes, updated in place; a list passed as null is
// an absent optional slot). All tensors are float32 or all float64. The whole
// call is validated before anything is written, so a bad call changes nothing.
// Work is split over all elements of all tensors; each element is computed
// by one thread with the same arithmetic, so results are bitwise identical
// for any thread count.
#pragma once
#include <vector>

#include "../core/tensor.h"

namespace tt::kernels {

using TensorList = std::vector<Tensor>;

// What Keras' base optimizer does before every update_step, fused into it:
//   g = clip(g * grad_scale[i], -clipvalue, clipvalue)   (clipvalue > 0 only)
//   p = p - p * weight_decay[i] * lr                      (Keras' _apply_weight_decay)
// grad_scale realises clipnorm (per tensor: c / max(norm_i, c)) and
// global_clipnorm (all tensors: c * min(1 / global_norm, 1 / c)) from the
// norms below. An empty vector means 1 (grad_scale) or 0 (weight_decay) for
// every tensor; otherwise it has one entry per tensor.
struct GradOptions {
  std::vector<double> grad_scale;
  double clipvalue = 0;
  std::vector<double> weight_decay;
};

// momentums null: p -= lr g. Otherwise m = momentum m - lr g, then
// p += m, or with nesterov p += momentum m - lr g.
void sgd_update(const TensorList& params, const TensorList& grads, const TensorList* momentums, double lr,
                double momentum, bool nesterov, const GradOptions& opt = {});

// step: the 1-based iteration. alpha = lr sqrt(1 - beta_2^step) / (1 - beta_1^step);
// m += (g - m)(1 - beta_1); v += (g^2 - v)(1 - beta_2); with vhat (amsgrad)
// vhat = max(vhat, v) replaces v below; p -= alpha m / (sqrt(v) + epsilon).
// AdamW is this with opt.weight_decay set.
void adam_update(const TensorList& params, const TensorList& grads, const TensorList& m, const TensorList& v,
                 const TensorList* vhat, double lr, double beta_1, double beta_2, double epsilon, int64_t step,
                 const GradOptions& opt = {});

// v = rho v + (1 - rho) g^2; centered (average_grads given): a = rho a + (1 - rho) g
// and the denominator is v - a^2 + epsilon, else v + epsilon; inc = lr g / sqrt(denominator);
// momentums given: mom = momentum mom + inc, p -= mom; else p -= inc.
void rmsprop_update(const TensorList& params, const TensorList& grads, const TensorList& velocities,
                    const TensorList* momentums, const TensorList* average_grads, double lr, double rho,
                    double momentum, double epsilon, const GradOptions& opt = {});

// acc += g^2; p -= lr g / sqrt(acc + epsilon).
void adagrad_update(const TensorList& params, const TensorList& grads, const TensorList& accumulators, double lr,
                    double epsilon, const GradOptions& opt = {});

// ag = rho ag + (1 - rho) g^2; d = -sqrt(ad + epsilon) g / sqrt(ag + epsilon);
// ad = rho ad + (1 - rho) d^2; p += lr d.
void adadelta_update(const TensorList& params, const TensorList& grads, const TensorList& accumulated_grads,
                     const TensorList& accumulated_deltas, double lr, double rho, double epsilon,
                     const GradOptions& opt = {});

// Keras' Nadam. u_product is the running momentum-cache product before this
// step (1 before the first step); returns the product after it, which the
// caller keeps for the next step. With u_t = beta_1 (1 - 0.5 * 0.96^step):
// m, v as Adam; m_hat = u_{t+1} m / (1 - prod_{t+1}) + (1 - u_t) g / (1 - prod_t);
// v_hat = v / (1 - beta_2^step); p -= lr m_hat / (sqrt(v_hat) + epsilon).
double nadam_update(const TensorList& params, const TensorList& grads, const TensorList& m, const TensorList& v,
                    double lr, double beta_1, double beta_2, double epsilon, int64_t step, double u_product,
                    const GradOptions& opt = {});

// L2 norm of each tensor (float32/float64, any layout) and of all of them
// together: sums of squares in double over fixed 4096-element chunks, combined
// in order, so the result does not depend on the thread count.
std::vector<double> l2_norms(const TensorList& tensors);
double global_norm(const TensorList& tensors);

}  // namespace tt::kernels
