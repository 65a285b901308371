// The channel loops of max pooling, written once and compiled per ISA for
// float32 with uint8 places (pool_avx2.cpp, pool_avx512.cpp); pool.cpp holds
// the baseline copies and the float64 / int32 ones. Branch-free selects over
// blocks of channels, so the compiler vectorises them at the file's width.
//
// A call covers `count` windows of one output row that share the layout of
// their taps: tap k of window w is the pixel at px[k] + w * step (C channels)
// and place places[k] of the full window (kh * KW + kw); window w's outputs
// (and places) are at w * C.
#pragma once
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace tt::kernels {

using MaxArgmaxFn = void (*)(const float* const* px, const uint8_t* places, int64_t taps, int64_t step,
                             int64_t count, int64_t C, float* y, uint8_t* arg);
using MaxBackwardFn = void (*)(float* const* px, const uint8_t* places, int64_t taps, int64_t step, int64_t count,
                               int64_t C, const float* dy, const uint8_t* arg);

struct PoolRows {
  MaxArgmaxFn max_argmax_f32;
  MaxBackwardFn max_backward_store_f32, max_backward_add_f32;
};

const PoolRows& pool_rows_avx2();
const PoolRows& pool_rows_avx512();

namespace {

// Channels go in blocks of one vector of the file's width (Bytes: 64 for
// AVX-512, 32 for AVX2, 16 for the baseline's SSE2), written with GCC's vector
// extensions, which turn a block into single instructions (a plain loop over
// such a select of floats beside one of places ran scalar; so does a vector
// wider than the ISA's, whose selects GCC lowers lane by lane). Channels past
// the last whole block take a scalar loop with the same arithmetic.
template <typename T, int Bytes>
struct Block {
  static constexpr int64_t kLanes = Bytes / sizeof(T);
  using Bits = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;
  typedef T V __attribute__((vector_size(Bytes)));
  typedef Bits B __attribute__((vector_size(Bytes)));
  // Through memory, never by value: a vector argument or result wider than
  // the baseline's would have a different ABI there (-Wpsabi).
  template <typename X>
  static void load(X& v, const T* p) { std::memcpy(&v, p, sizeof v); }
  template <typename X>
  static void store(T* p, const X& v) { std::memcpy(p, &v, sizeof v); }
};

// The maximum of each window and the place of its first maximum: a later tap
// wins only when strictly greater (ties and NaN keep the earlier one).
template <typename T, typename I, int Bytes = 16>
void max_argmax_windows(const T* const* px, const I* places, int64_t taps, int64_t step, int64_t count, int64_t C,
                        T* y, I* arg) {
  using K = Block<T, Bytes>;
  using Bits = typename K::Bits;
  for (int64_t w = 0; w < count; ++w, y += C, arg += C) {
    const int64_t off = w * step;
    int64_t c0 = 0;
    for (; c0 + K::kLanes <= C; c0 += K::kLanes) {
      typename K::V best, v;
      K::load(best, px[0] + off + c0);
      typename K::B at = typename K::B{} + Bits(places[0]);
      for (int64_t k = 1; k < taps; ++k) {
        K::load(v, px[k] + off + c0);
        const typename K::B later = v > best;  // all ones where strictly greater
        best = later ? v : best;
        at = (at & ~later) | ((typename K::B{} + Bits(places[k])) & later);
      }
      K::store(y + c0, best);
      for (int64_t c = 0; c < K::kLanes; ++c) arg[c0 + c] = I(at[c]);
    }
    for (int64_t c = c0; c < C; ++c) {
      T best = px[0][off + c];
      I at = places[0];
      for (int64_t k = 1; k < taps; ++k)
        if (px[k][off + c] > best) best = px[k][off + c], at = places[k];
      y[c] = best, arg[c] = at;
    }
  }
}

// The gradient of each window to the tap its place names: every tap gets dy
// there and +0 elsewhere (a select of bits), stored when windows cannot
// overlap, else added.
template <typename T, typename I, bool Store, int Bytes = 16>
void max_backward_windows(T* const* px, const I* places, int64_t taps, int64_t step, int64_t count, int64_t C,
                          const T* dy, const I* arg) {
  using K = Block<T, Bytes>;
  using Bits = typename K::Bits;
  for (int64_t w = 0; w < count; ++w, dy += C, arg += C) {
    const int64_t off = w * step;
    int64_t c0 = 0;
    for (; c0 + K::kLanes <= C; c0 += K::kLanes) {
      typename K::B place, d;
      for (int64_t c = 0; c < K::kLanes; ++c) place[c] = Bits(arg[c0 + c]);
      K::load(d, dy + c0);
      for (int64_t k = 0; k < taps; ++k) {
        const typename K::B bits = d & (place == Bits(places[k]));
        if constexpr (Store) {
          K::store(px[k] + off + c0, bits);
        } else {
          typename K::V add, dx;
          std::memcpy(&add, &bits, sizeof add);
          K::load(dx, px[k] + off + c0);
          K::store(px[k] + off + c0, dx + add);
        }
      }
    }
    for (int64_t c = c0; c < C; ++c)
      for (int64_t k = 0; k < taps; ++k) {
        const T add = arg[c] == places[k] ? dy[c] : T(0);
        px[k][off + c] = Store ? add : px[k][off + c] + add;
      }
  }
}

template <int Bytes>
PoolRows make_pool_rows() {
  return {&max_argmax_windows<float, uint8_t, Bytes>, &max_backward_windows<float, uint8_t, true, Bytes>,
          &max_backward_windows<float, uint8_t, false, Bytes>};
}

}  // namespace
}  // namespace tt::kernels
