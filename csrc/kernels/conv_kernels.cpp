// Convolution kernels for any CPU: 16-byte GCC/Clang vectors, which
// become SSE2 on x86-64 and NEON on aarch64.
#include <cstring>

#include "conv_kernels.h"

namespace tt::kernels::convk {
namespace {

template <typename TT>
struct PortableOps {
  using T = TT;
  typedef T V __attribute__((vector_size(16)));
  static constexpr int width = int(16 / sizeof(T));
  static constexpr int kNV = 2, kFwdR = 6, kMaxKT = 6, kAcc = 12;  // 16 registers

  static V zero() { return V{}; }
  static V set1(T x) { return V{} + x; }
  static V load(const T* p) {
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static void store(T* p, V v) { std::memcpy(p, &v, sizeof v); }
  static void store_n(T* p, V v, int n) {
    for (int i = 0; i < n; ++i) p[i] = v[i];
  }
  static V bcast(const T* p) { return set1(*p); }
  static V reg(V v) { return v; }
  static V fma(V a, V b, V c) { return a * b + c; }
  static V add(V a, V b) { return a + b; }
  static V sub(V a, V b) { return a - b; }
  static V mul(V a, V b) { return a * b; }
  static V max(V a, V b) { return a > b ? a : b; }
  static V min(V a, V b) { return a < b ? a : b; }
  static T hsum(V v) {
    T s = v[0];
    for (int i = 1; i < width; ++i) s += v[i];
    return s;
  }
  static void hsum8(const V (&v)[8], T* out) {
    for (int i = 0; i < 8; ++i) out[i] = hsum(v[i]);
  }
};

}  // namespace

template <typename T>
Kernels<T> kernels_portable() {
  return Impl<PortableOps<T>>::table();
}
template Kernels<float> kernels_portable<float>();
template Kernels<double> kernels_portable<double>();

}  // namespace tt::kernels::convk
