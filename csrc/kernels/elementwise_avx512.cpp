// The elementwise rows of elementwise_simd.h compiled for AVX512.
#include "elementwise_simd.h"

namespace tt::kernels {

const ElementwiseRows& elementwise_rows_avx512() {
  static const ElementwiseRows rows = make_elementwise_rows();
  return rows;
}

}  // namespace tt::kernels
