#include "random.h"

#include <cmath>

#include "../core/iter.h"

namespace tt::kernels {
namespace {

// (0, 1] with 53 random bits, so log() below never sees 0.
inline double unit(uint32_t hi, uint32_t lo) {
  return (double((uint64_t(hi) << 21) ^ lo) + 1.0) * (1.0 / 9007199254740992.0);
}

// Box-Muller on the four words of one counter.
inline double normal_of(const uint32_t* w) {
  return std::sqrt(-2.0 * std::log(unit(w[0], w[1]))) * std::cos(6.283185307179586 * unit(w[2], w[3]));
}

inline double normal_at(const Philox& g, uint64_t i, uint32_t sub) {
  uint32_t w[4];
  g(i, sub, w);
  return normal_of(w);
}

// Element i takes counter offset + i of sub-stream 0 (a truncated normal
// redraws from sub-streams 1, 2, ...); the counters come a block at a time.
template <typename T>
void fill(const Tensor& out, Distribution dist, uint64_t seed, uint64_t offset, double a, double b) {
  const Philox g(seed);
  T* p = out.data<T>();
  parallel_for(0, out.numel(), 4096, [&](int64_t i0, int64_t i1) {
    uint32_t block[4 * Philox::kBlock];
    for (int64_t i = i0; i < i1; ++i) {
      const uint64_t idx = offset + uint64_t(i);
      const int64_t j = (i - i0) % Philox::kBlock;
      if (j == 0) g.block(idx, 0, block);
      const uint32_t* w = block + 4 * j;
      double v;
      if (dist == Distribution::uniform) {
        if constexpr (std::is_integral<T>::value) {
          const uint64_t span = uint64_t(int64_t(b) - int64_t(a));
          v = double(int64_t(a) + int64_t(((uint64_t(w[0]) << 32 | w[1]) % span)));
        } else {
          v = a + (b - a) * (unit(w[0], w[1]) - std::ldexp(1.0, -53));  // [a, b)
        }
      } else if (dist == Distribution::normal) {
        v = a + b * normal_of(w);
      } else {
        double z = normal_of(w);
        for (uint32_t sub = 1; std::fabs(z) > 2.0; ++sub) z = normal_at(g, idx, sub);
        v = a + b * z;
      }
      T t = T(v);
      if constexpr (!std::is_integral<T>::value)  // rounding to float must not reach the open end b
        if (dist == Distribution::uniform && t >= T(b) && b > a) t = std::nextafter(T(b), T(a));
      p[i] = t;
    }
  });
}

}  // namespace

void random_fill(const Tensor& out, Distribution dist, uint64_t seed, uint64_t offset, double a, double b) {
  TT_CHECK(out.is_contiguous(), "random: output must be contiguous");
  switch (out.dtype) {
    case DType::f32: fill<float>(out, dist, seed, offset, a, b); break;
    case DType::f64: fill<double>(out, dist, seed, offset, a, b); break;
    case DType::i32:
    case DType::i64:
      TT_CHECK(dist == Distribution::uniform, "random: integer dtypes support only the uniform distribution");
      TT_CHECK(b > a, "random.uniform: maxval must be greater than minval for integer dtypes, got minval=", a,
               " maxval=", b);
      if (out.dtype == DType::i32) fill<int32_t>(out, dist, seed, offset, a, b);
      else fill<int64_t>(out, dist, seed, offset, a, b);
      break;
    default: TT_TYPE_ERROR("random: unsupported dtype ", dtype_name(out.dtype));
  }
}

}  // namespace tt::kernels
