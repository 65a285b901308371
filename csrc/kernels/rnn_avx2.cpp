// The recurrence of the rnn kernels (rnn_impl.h) compiled for AVX2.
#include "rnn_impl.h"

namespace tt::kernels::rnn_detail {

const Kernels& kernels_avx2() {
  static const Kernels k = make_kernels_f32(kernels_generic());
  return k;
}

}  // namespace tt::kernels::rnn_detail
