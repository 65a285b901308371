// Recurrent layers (SimpleRNN, LSTM, GRU) as one forward and one backward
// kernel each: the input projection of all time steps is one GEMM, then a
// loop over time runs, per step, the recurrent GEMM and the fused gate math;
// the backward pass runs the recurrence in reverse (BPTT) and ends with the
// weight-gradient GEMMs over all steps at once.
//
// Weights use Keras' layouts (gates side by side along the last axis):
//   kernel (F, G*u), recurrent_kernel (u, G*u), G = 1 (simple), 4 (LSTM:
//   i, f, c, o), 3 (GRU: z, r, h); bias (G*u,), or (2, 3u) for a GRU with
//   reset_after (input bias, recurrent bias).
// Inputs are batch-major (B, T, F); masks are bool (B, T). As in Keras, a
// masked step keeps the previous states, and its output is the previous
// output (zeros before the first unmasked step), or zeros with
// zero_output_for_mask. go_backwards reads the sequence from the end, and the
// outputs come in that (processing) order.
//
// Threads: batch rows are independent, so each thread runs the whole
// recurrence for a fixed block of rows (one parallel region per call); the
// GEMMs give each row the same bits whatever the block, so results are
// bitwise identical for any thread count.
#pragma once
#include <memory>

#include "../core/tensor.h"
#include "activation.h"

namespace tt::kernels {

enum class RnnKind : int { simple = 0, lstm = 1, gru = 2 };

struct RnnConfig {
  RnnKind kind = RnnKind::lstm;
  Act activation = Act::tanh;               // SimpleRNN output, LSTM/GRU candidate and LSTM cell output
  Act recurrent_activation = Act::sigmoid;  // LSTM/GRU gates
  bool reset_after = true;                  // GRU only
  bool go_backwards = false;
  bool return_sequences = false;
  bool zero_output_for_mask = false;
};

// Everything the backward pass needs (kept by the caller between the two).
struct RnnSaved;

struct RnnForward {
  Tensor y;  // (B, T, u) with return_sequences, else the last output (B, u)
  Tensor h;  // last hidden state (B, u)
  Tensor c;  // last cell state (B, u), LSTM only (else empty)
  std::shared_ptr<const RnnSaved> saved;
};

struct RnnGrads {
  Tensor dx, dkernel, drecurrent_kernel, dbias, dh0, dc0;  // dx empty unless asked; dbias, dc0 empty when absent
};

// bias, h0, c0 (LSTM only), mask and recurrent_dropout (a (B, u) scale
// applied to h wherever it feeds the recurrent kernel) may be null. With
// keep false (inference) nothing is saved for a backward (saved is null) and
// the buffers hold kInferenceSteps steps at a time instead of all of them.
constexpr int64_t kInferenceSteps = 16;
RnnForward rnn_forward(const RnnConfig& cfg, const Tensor& x, const Tensor& kernel, const Tensor& recurrent_kernel,
                       const Tensor* bias, const Tensor* h0, const Tensor* c0, const Tensor* mask,
                       const Tensor* recurrent_dropout, bool keep = true);

// Gradients from those of y, h and c (each may be null: zero).
RnnGrads rnn_backward(const RnnSaved& saved, const Tensor* dy, const Tensor* dh, const Tensor* dc, bool need_dx);

}  // namespace tt::kernels
