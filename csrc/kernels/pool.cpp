#include "pool.h"

#include <algorithm>
#include <type_traits>
#include <vector>

#include "../core/cpu.h"
#include "../core/parallel.h"
#include "pool_simd.h"

namespace tt::kernels {

PoolGeom pool_geometry(const char* op, const Shape& in, Hw k, Hw s, const Padding& pad) {
  TT_CHECK(in.size() == 4, op, ": expected an input of rank 4 (batch, height, width, channels), got shape ", in);
  for (int64_t d : in) TT_CHECK(d >= 0, op, ": negative dimension in input shape ", in);
  TT_CHECK(k[0] >= 1 && k[1] >= 1, op, ": ksize must be positive, got ", Shape{k[0], k[1]});
  TT_CHECK(s[0] >= 1 && s[1] >= 1, op, ": strides must be positive, got ", Shape{s[0], s[1]});
  if (pad.kind == Padding::explicit_)
    TT_CHECK(pad.top >= 0 && pad.bottom >= 0 && pad.left >= 0 && pad.right >= 0 && pad.top < k[0] &&
                 pad.bottom < k[0] && pad.left < k[1] && pad.right < k[1],
             op, ": explicit padding must be non-negative and smaller than the window ", Shape{k[0], k[1]},
             ", got [[", pad.top, ", ", pad.bottom, "], [", pad.left, ", ", pad.right, "]]");
  const Axis h = window_axis(in[1], k[0], s[0], 1, pad.kind, pad.top, pad.bottom);
  const Axis w = window_axis(in[2], k[1], s[1], 1, pad.kind, pad.left, pad.right);
  TT_CHECK(h.out > 0 && w.out > 0, op, ": the output would be empty (", h.out, " x ", w.out, ") for input ", in,
           " with ksize ", Shape{k[0], k[1]}, ", strides ", Shape{s[0], s[1]}, " and ", padding_name(pad),
           " padding");
  return {in[0], in[1], in[2], in[3], k[0], k[1], s[0], s[1], h.out, w.out, h.pad_before, w.pad_before};
}

namespace {

void check_float(const char* op, const Tensor& t, const char* name) {
  TT_TYPE_CHECK(is_floating(t.dtype), op, ": ", name, " must be float32 or float64, got ", dtype_name(t.dtype));
}

template <typename F>
void dispatch_index(DType d, const F& fn) {
  if (d == DType::u8) fn(uint8_t{});
  else fn(int32_t{});
}

// fn(px, places, taps, o, count) for the windows of output rows [r0, r1)
// (r = n * OH + oh) in output order, as pool_simd.h's loops take them: each
// window that reaches into the padding alone, and the windows with every
// column inside the input as one run (their taps g.sw * C apart). x is the
// input (or its gradient) from image n0 on, o the offset of the first
// window's output.
template <typename P, typename I, typename F>
void for_each_window_run(const PoolGeom& g, P* x, int64_t r0, int64_t r1, const F& fn, int64_t n0 = 0) {
  std::vector<P*> px(size_t(g.KH * g.KW));
  std::vector<I> places(px.size());
  int64_t lo, hi;
  g.full_cols(lo, hi);
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t n = r / g.OH - n0;
    int64_t h0, kh0, kh1;
    g.rows(r % g.OH, h0, kh0, kh1);
    auto run = [&](int64_t ow, int64_t count) {
      int64_t w0, kw0, kw1, taps = 0;
      g.cols(ow, w0, kw0, kw1);
      for (int64_t kh = kh0; kh < kh1; ++kh)
        for (int64_t kw = kw0; kw < kw1; ++kw, ++taps) {
          px[size_t(taps)] = x + ((n * g.H + h0 + kh) * g.W + w0 + kw) * g.C;
          places[size_t(taps)] = I(kh * g.KW + kw);
        }
      fn(px.data(), places.data(), taps, (r * g.OW + ow) * g.C, count);
    };
    for (int64_t ow = 0; ow < lo; ++ow) run(ow, 1);
    if (lo < hi) run(lo, hi - lo);
    for (int64_t ow = hi; ow < g.OW; ++ow) run(ow, 1);
  }
}

// fn(px, taps, step, out) for every window, output rows split across threads:
// the window's taps are px[k] + step, its C outputs start at out.
template <typename T, typename F>
void for_each_window_row(const PoolGeom& g, const T* x, T* y, const F& fn) {
  parallel_for(0, g.N * g.OH, g.row_grain(), [&](int64_t r0, int64_t r1) {
    for_each_window_run<const T, int32_t>(g, x, r0, r1, [&](const T* const* px, const int32_t*, int64_t taps,
                                                            int64_t o, int64_t count) {
      for (int64_t w = 0; w < count; ++w) fn(px, taps, w * g.sw * g.C, y + o + w * g.C);
    });
  });
}

const PoolRows& pool_rows() {
  static const PoolRows baseline = make_pool_rows<16>();
  switch (isa()) {
    case Isa::avx512: return pool_rows_avx512();
    case Isa::avx2: return pool_rows_avx2();
    default: return baseline;
  }
}

// Max and argmax of the windows of output rows [r0, r1) (r = n * OH + oh),
// reading x from image n0 on.
template <typename T, typename I>
void max_argmax_rows(const PoolGeom& g, const T* x, int64_t n0, int64_t r0, int64_t r1, T* y, I* argmax) {
  auto windows = &max_argmax_windows<T, I>;
  if constexpr (std::is_same_v<T, float> && std::is_same_v<I, uint8_t>) windows = pool_rows().max_argmax_f32;
  for_each_window_run<const T, I>(g, x, r0, r1, [&](const T* const* px, const I* places, int64_t taps, int64_t o,
                                                    int64_t count) {
    windows(px, places, taps, g.sw * g.C, count, g.C, y + o, argmax + o);
  }, n0);
}

}  // namespace

Tensor max_pool2d(const Tensor& x, Hw ksize, Hw strides, const Padding& pad, Tensor* argmax) {
  const char* op = "max_pool2d";
  check_float(op, x, "input");
  const PoolGeom g = pool_geometry(op, x.shape, ksize, strides, pad);
  Tensor y = Tensor::empty(g.output_shape(), x.dtype);
  if (argmax) *argmax = Tensor::empty(g.output_shape(), g.argmax_dtype());
  const Tensor xc = x.contiguous();
  TT_DISPATCH_FLOAT(x.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    const int64_t C = g.C;
    T* yp = y.data<T>();
    if (!argmax) {
      for_each_window_row(g, xc.data<T>(), yp, [&](const T* const* px, int64_t taps, int64_t step, T* out) {
        std::copy_n(px[0] + step, C, out);
        for (int64_t k = 1; k < taps; ++k)
          for (int64_t c = 0; c < C; ++c) out[c] = px[k][step + c] > out[c] ? px[k][step + c] : out[c];
      });
      return;
    }
    dispatch_index(argmax->dtype, [&](auto itag) {
      using I = decltype(itag);
      parallel_for(0, g.N * g.OH, g.row_grain(), [&](int64_t r0, int64_t r1) {
        max_argmax_rows<T, I>(g, xc.data<T>(), 0, r0, r1, yp, argmax->data<I>());
      });
    });
  });
  return y;
}

void max_pool2d_images(const PoolGeom& g, const void* x, int64_t n0, int64_t n1, Tensor& y, Tensor& argmax) {
  TT_DISPATCH_FLOAT(y.dtype, "max_pool2d", [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(argmax.dtype, [&](auto itag) {
      using I = decltype(itag);
      max_argmax_rows<T, I>(g, static_cast<const T*>(x), n0, n0 * g.OH, n1 * g.OH, y.data<T>(), argmax.data<I>());
    });
  });
}

MaxPoolGradient::MaxPoolGradient(const Tensor& dy, const Tensor& argmax, const Shape& input_shape, Hw ksize,
                                 Hw strides, const Padding& pad) {
  const char* op = "max_pool2d_backward";
  check_float(op, dy, "gradient");
  g_ = pool_geometry(op, input_shape, ksize, strides, pad);
  TT_CHECK(dy.shape == g_.output_shape() && argmax.shape == g_.output_shape(), op, ": gradient ", dy.shape,
           " and argmax ", argmax.shape, " must both have the pooled shape ", g_.output_shape());
  TT_TYPE_CHECK(argmax.dtype == g_.argmax_dtype(), op, ": argmax must be ", dtype_name(g_.argmax_dtype()),
                " as max_pool2d gives for this window, got ", dtype_name(argmax.dtype));
  dy_ = dy.contiguous(), argmax_ = argmax.contiguous();
  // Windows that cannot overlap (strides >= ksize, the usual pooling) write
  // each covered input pixel once: no zero fill first, and stores instead of
  // accumulation. Pixels outside every window are zeroed separately.
  disjoint_ = g_.sh >= g_.KH && g_.sw >= g_.KW;
  covered_h_.assign(size_t(g_.H), 0), covered_w_.assign(size_t(g_.W), 0);
  if (disjoint_) {
    for (int64_t oh = 0; oh < g_.OH; ++oh) {
      int64_t h0, kh0, kh1;
      g_.rows(oh, h0, kh0, kh1);
      for (int64_t kh = kh0; kh < kh1; ++kh) covered_h_[size_t(h0 + kh)] = 1;
    }
    for (int64_t ow = 0; ow < g_.OW; ++ow) {
      int64_t w0, kw0, kw1;
      g_.cols(ow, w0, kw0, kw1);
      for (int64_t kw = kw0; kw < kw1; ++kw) covered_w_[size_t(w0 + kw)] = 1;
    }
  }
  gaps_ = disjoint_ && (std::count(covered_h_.begin(), covered_h_.end(), 0) ||
                        std::count(covered_w_.begin(), covered_w_.end(), 0));
}

Tensor MaxPoolGradient::whole() const {
  Tensor dx = Tensor::empty(input_shape(), dy_.dtype);
  images(0, g_.N, dx.raw());
  return dx;
}

void MaxPoolGradient::images(int64_t n0, int64_t n1, void* out) const {
  const PoolGeom& g = g_;
  TT_DISPATCH_FLOAT(dy_.dtype, "max_pool2d_backward", [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(argmax_.dtype, [&](auto itag) {
      using I = decltype(itag);
      auto windows = disjoint_ ? &max_backward_windows<T, I, true> : &max_backward_windows<T, I, false>;
      if constexpr (std::is_same_v<T, float> && std::is_same_v<I, uint8_t>)
        windows = disjoint_ ? pool_rows().max_backward_store_f32 : pool_rows().max_backward_add_f32;
      const I* ap = argmax_.data<I>();
      const T* gp = dy_.data<T>();
      T* dxp = static_cast<T*>(out);
      const int64_t C = g.C, pixels = (n1 - n0) * g.H * g.W;
      if (!disjoint_ || gaps_)
        parallel_for(0, pixels, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, C)), [&](int64_t p0, int64_t p1) {
          if (!disjoint_) {  // overlapping windows add up
            std::fill_n(dxp + p0 * C, (p1 - p0) * C, T(0));
            return;
          }
          for (int64_t p = p0; p < p1; ++p)
            if (!covered_h_[size_t(p / g.W % g.H)] || !covered_w_[size_t(p % g.W)]) std::fill_n(dxp + p * C, C, T(0));
        });
      // Disjoint windows write each input pixel once, so output rows can go to
      // any thread; overlapping ones add, so a thread takes whole images and
      // the additions keep one order.
      const int64_t unit = disjoint_ ? 1 : g.OH;
      parallel_for(n0 * g.OH / unit, n1 * g.OH / unit, disjoint_ ? g.row_grain() : 1, [&](int64_t u0, int64_t u1) {
        for_each_window_run<T, I>(
            g, dxp, u0 * unit, u1 * unit,
            [&](T* const* px, const I* places, int64_t taps, int64_t o, int64_t count) {
              windows(px, places, taps, g.sw * C, count, C, gp + o, ap + o);
            },
            n0);
      });
    });
  });
}

Tensor max_pool2d_backward(const Tensor& dy, const Tensor& argmax, const Shape& input_shape, Hw ksize, Hw strides,
                           const Padding& pad) {
  return MaxPoolGradient(dy, argmax, input_shape, ksize, strides, pad).whole();
}

Tensor avg_pool2d(const Tensor& x, Hw ksize, Hw strides, const Padding& pad) {
  const char* op = "avg_pool2d";
  check_float(op, x, "input");
  const PoolGeom g = pool_geometry(op, x.shape, ksize, strides, pad);
  Tensor y = Tensor::empty(g.output_shape(), x.dtype);
  const Tensor xc = x.contiguous();
  TT_DISPATCH_FLOAT(x.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    const int64_t C = g.C;
    T* yp = y.data<T>();
    for_each_window_row(g, xc.data<T>(), yp, [&](const T* const* px, int64_t taps, int64_t step, T* out) {
      std::fill_n(out, C, T(0));
      for (int64_t k = 0; k < taps; ++k)
        for (int64_t c = 0; c < C; ++c) out[c] += px[k][step + c];
      for (int64_t c = 0; c < C; ++c) out[c] /= T(taps);
    });
  });
  return y;
}

Tensor avg_pool2d_backward(const Tensor& dy, const Shape& input_shape, Hw ksize, Hw strides, const Padding& pad) {
  const char* op = "avg_pool2d_backward";
  check_float(op, dy, "gradient");
  const PoolGeom g = pool_geometry(op, input_shape, ksize, strides, pad);
  TT_CHECK(dy.shape == g.output_shape(), op, ": gradient has shape ", dy.shape, ", expected the pooled shape ",
           g.output_shape());
  Tensor dx = Tensor::empty(input_shape, dy.dtype);
  const Tensor dyc = dy.contiguous();
  TT_DISPATCH_FLOAT(dy.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    const T* gp = dyc.data<T>();
    T* dxp = dx.data<T>();
    const int64_t C = g.C;
    // Gather form: each input pixel sums dy / count over the windows that
    // contain it, so rows split across threads without write conflicts.
    auto range = [](int64_t i, int64_t pad_before, int64_t k, int64_t s, int64_t out, int64_t& lo, int64_t& hi) {
      const int64_t first = i + pad_before - k + 1;
      lo = first <= 0 ? 0 : (first + s - 1) / s;
      hi = std::min(out, (i + pad_before) / s + 1);
    };
    std::vector<T> count_w(static_cast<size_t>(g.OW));
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      int64_t w0, kw0, kw1;
      g.cols(ow, w0, kw0, kw1);
      count_w[size_t(ow)] = T(kw1 - kw0);
    }
    parallel_for(0, g.N * g.H, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, g.W * C)), [&](int64_t r0,
                                                                                                 int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t n = r / g.H, ih = r % g.H;
        int64_t oh0, oh1;
        range(ih, g.pt, g.KH, g.sh, g.OH, oh0, oh1);
        for (int64_t iw = 0; iw < g.W; ++iw) {
          int64_t ow0, ow1;
          range(iw, g.pl, g.KW, g.sw, g.OW, ow0, ow1);
          T* out = dxp + (r * g.W + iw) * C;
          std::fill_n(out, C, T(0));
          for (int64_t oh = oh0; oh < oh1; ++oh) {
            int64_t h0, kh0, kh1;
            g.rows(oh, h0, kh0, kh1);
            for (int64_t ow = ow0; ow < ow1; ++ow) {
              const T count = T(kh1 - kh0) * count_w[size_t(ow)];
              const T* d = gp + ((n * g.OH + oh) * g.OW + ow) * C;
              for (int64_t c = 0; c < C; ++c) out[c] += d[c] / count;
            }
          }
        }
      }
    });
  });
  return dx;
}

}  // namespace tt::kernels
