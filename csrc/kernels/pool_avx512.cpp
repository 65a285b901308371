// The max-pooling channel loops of pool_simd.h compiled for AVX-512.
#include "pool_simd.h"

namespace tt::kernels {

const PoolRows& pool_rows_avx512() {
  static const PoolRows rows = make_pool_rows<64>();
  return rows;
}

}  // namespace tt::kernels
