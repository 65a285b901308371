// The max-pooling channel loops of pool_simd.h compiled for AVX2.
#include "pool_simd.h"

namespace tt::kernels {

const PoolRows& pool_rows_avx2() {
  static const PoolRows rows = make_pool_rows<32>();
  return rows;
}

}  // namespace tt::kernels
