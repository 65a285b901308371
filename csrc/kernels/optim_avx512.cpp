// The optimizer element loops of optim_steps.h compiled for AVX-512.
#include "optim_steps.h"

namespace tt::kernels {

const OptimSteps& optim_steps_avx512() {
  static const OptimSteps steps = make_optim_steps();
  return steps;
}

}  // namespace tt::kernels
