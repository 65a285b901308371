#include "image.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "../core/parallel.h"

namespace tt::kernels {
namespace {

struct Dims {
  int64_t N, H, W, C;
};

Dims image_dims(const Tensor& x, const char* op) {
  TT_CHECK(x.ndim() == 4, op, ": expected a batch of images of rank 4 (batch, height, width, channels), got shape ",
           x.shape);
  TT_TYPE_CHECK(x.dtype != DType::b8, op, ": images must be numeric, got bool");
  return {x.shape[0], x.shape[1], x.shape[2], x.shape[3]};
}

// Calls fn(T{}, To{}) for the input element type T and the float output type To.
template <typename F>
void dispatch(DType in, DType out, const char* op, const F& fn) {
  TT_DISPATCH_ALL(in, op, [&](auto tin) {
    using T = decltype(tin);
    if constexpr (std::is_same_v<T, bool>) {
      TT_TYPE_ERROR(op, ": images must be numeric, got bool");
    } else {
      TT_DISPATCH_FLOAT(out, op, [&](auto tout) { fn(T{}, tout); });
    }
  });
}

// Rows per parallel chunk: about `work` output elements each.
int64_t row_grain(int64_t row_elems, int64_t work = 16384) { return std::max<int64_t>(1, work / std::max<int64_t>(1, row_elems)); }

// A per-image float parameter vector of length N (factors, deltas).
std::vector<double> per_image(const Tensor& v, int64_t N, const char* op, const char* name) {
  TT_TYPE_CHECK(is_floating(v.dtype), op, ": ", name, " must be float32 or float64, got ", dtype_name(v.dtype));
  TT_CHECK(v.ndim() == 1 && v.shape[0] == N, op, ": ", name, " must have shape (", N, ",), got ", v.shape);
  const Tensor c = v.to(DType::f64);
  return std::vector<double>(c.data<double>(), c.data<double>() + N);
}

// floor() and round-half-away-from-zero (std::round) as integers, without a
// libm call per pixel. |v| < 2^62 here (see kFar).
inline int64_t floor_i(float v) {
  const int64_t i = int64_t(v);
  return i - (float(i) > v);
}
inline int64_t round_i(float v) {
  const int64_t i = floor_i(v);
  const float frac = v - float(i);
  return i + (v >= 0 ? frac >= 0.5f : frac > 0.5f);
}

// Source points are kept within +-2^60: further ones read the same fill (or
// arbitrary folded pixels, as in TensorFlow) and the integer casts stay defined.
constexpr float kFar = 1.152921504606846976e18f;

// Brings a source coordinate back into [0, len - 1] as TensorFlow's
// ImageProjectiveTransformV3 does (constant mode leaves it unchanged), kept
// bit-exact so the layers match Keras. TensorFlow's wrap divides by len - 1
// but steps by len; we keep that too.
inline float map_coord(float v, int64_t len, FillMode mode) {
  v = std::min(std::max(v, -kFar), kFar);
  const float last = float(len - 1);
  switch (mode) {
    case FillMode::constant: return v;
    case FillMode::nearest: break;
    case FillMode::reflect:
      if (len <= 1) return 0.f;
      if (v < 0) {
        const int64_t sz2 = 2 * len;
        v += float(sz2 * int64_t(-v / float(sz2)));  // into (-2 len, 0]
        v = v < float(-len) ? v + float(sz2) : -v - 1;
      } else if (v > last) {
        const int64_t sz2 = 2 * len;
        v -= float(sz2 * int64_t(v / float(sz2)));  // into [0, 2 len)
        if (v >= float(len)) v = float(sz2) - v - 1;
      }
      break;
    case FillMode::wrap:
      if (len <= 1) return 0.f;
      if (v < 0) v += float(len * (int64_t(-v / last) + 1));
      else if (v > last) v -= float(len * int64_t(v / last));
      break;
  }
  return std::min(std::max(v, 0.f), last);
}

// One image, or a window of one: h rows of w pixels of c channels, rows
// `row_stride` elements apart.
template <typename T>
struct View {
  const T* p;
  int64_t h, w, c, row_stride;
  const T* pixel(int64_t y, int64_t x) const {  // nullptr outside the view
    return (y >= 0 && y < h && x >= 0 && x < w) ? p + y * row_stride + x * c : nullptr;
  }
};

// Writes the channels of point (x, y) of `v` to out: nearest rounds, bilinear
// weighs the four neighbours with TensorFlow's arithmetic; pixels outside the
// view read `fill`.
template <typename T, typename To>
inline void read_point(const View<T>& v, float x, float y, Interpolation interp, To fill, To* out) {
  if (interp == Interpolation::nearest) {
    const T* p = v.pixel(round_i(y), round_i(x));
    for (int64_t c = 0; c < v.c; ++c) out[c] = p ? To(p[c]) : fill;
    return;
  }
  const int64_t x0 = floor_i(x), y0 = floor_i(y);
  const float fx0 = float(x0), fy0 = float(y0);
  const To wx0 = To((fx0 + 1) - x), wx1 = To(x - fx0), wy0 = To((fy0 + 1) - y), wy1 = To(y - fy0);
  if (x0 >= 0 && y0 >= 0 && x0 + 1 < v.w && y0 + 1 < v.h) {  // all four inside: no fill checks
    const T* p00 = v.p + y0 * v.row_stride + x0 * v.c;
    const T *p01 = p00 + v.c, *p10 = p00 + v.row_stride, *p11 = p10 + v.c;
    for (int64_t c = 0; c < v.c; ++c) {
      const To top = wx0 * To(p00[c]) + wx1 * To(p01[c]);
      const To bottom = wx0 * To(p10[c]) + wx1 * To(p11[c]);
      out[c] = wy0 * top + wy1 * bottom;
    }
    return;
  }
  const T *p00 = v.pixel(y0, x0), *p01 = v.pixel(y0, x0 + 1), *p10 = v.pixel(y0 + 1, x0),
          *p11 = v.pixel(y0 + 1, x0 + 1);
  for (int64_t c = 0; c < v.c; ++c) {
    const To top = wx0 * (p00 ? To(p00[c]) : fill) + wx1 * (p01 ? To(p01[c]) : fill);
    const To bottom = wx0 * (p10 ? To(p10[c]) : fill) + wx1 * (p11 ? To(p11[c]) : fill);
    out[c] = wy0 * top + wy1 * bottom;
  }
}

struct Window {
  int64_t top, left, h, w;
};

// The one sampler behind resize, rotation, zoom and translation: output pixel
// (ox, oy) of image n reads the point point(n, ox, oy) of the window `win` of
// input image n. Parallel over output rows.
template <typename T, typename To, typename Point>
void sample(const Tensor& x, const Tensor& y, Window win, Interpolation interp, FillMode mode, To fill,
            const Point& point) {
  const int64_t H = x.shape[1], W = x.shape[2], C = x.shape[3];
  const int64_t OH = y.shape[1], OW = y.shape[2];
  const T* xp = x.data<T>();
  To* yp = y.data<To>();
  parallel_for(0, y.shape[0] * OH, row_grain(OW * C, 4096), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / OH, oy = r % OH;
      const View<T> v{xp + ((n * H + win.top) * W + win.left) * C, win.h, win.w, C, W * C};
      To* out = yp + r * OW * C;
      for (int64_t ox = 0; ox < OW; ++ox, out += C) {
        float sx, sy;
        point(n, ox, oy, sx, sy);
        read_point(v, map_coord(sx, v.w, mode), map_coord(sy, v.h, mode), interp, fill, out);
      }
    }
  });
}

}  // namespace

Interpolation parse_interpolation(const std::string& name, const char* op) {
  if (name == "nearest") return Interpolation::nearest;
  if (name == "bilinear") return Interpolation::bilinear;
  TT_FAIL_AS(value_error, op, ": interpolation must be 'nearest' or 'bilinear', got '", name, "'");
}

FillMode parse_fill_mode(const std::string& name, const char* op) {
  if (name == "reflect") return FillMode::reflect;
  if (name == "wrap") return FillMode::wrap;
  if (name == "constant") return FillMode::constant;
  if (name == "nearest") return FillMode::nearest;
  TT_FAIL_AS(value_error, op, ": fill_mode must be one of 'reflect', 'wrap', 'constant', 'nearest', got '", name,
             "'");
}

Tensor image_affine(const Tensor& x_, const Tensor& transforms, Interpolation interp, FillMode fill, double fill_value,
                    DType out) {
  const char* op = "image_affine";
  const Dims d = image_dims(x_, op);
  TT_TYPE_CHECK(is_floating(transforms.dtype), op, ": transforms must be float32 or float64, got ",
                dtype_name(transforms.dtype));
  TT_CHECK(transforms.ndim() == 2 && transforms.shape[1] == 6 && (transforms.shape[0] == d.N || transforms.shape[0] == 1),
           op, ": transforms must have shape (", d.N, ", 6) or (1, 6), got ", transforms.shape);
  const Tensor t = transforms.to(DType::f32);
  const float* tp = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i)  // bounds that keep every source point finite
    TT_CHECK(std::isfinite(tp[i]) && std::fabs(tp[i]) <= 1e20f, op,
             ": transform values must be finite and at most 1e20 in magnitude, got ", tp[i]);
  const bool shared = t.shape[0] == 1;
  const Tensor x = x_.contiguous();
  Tensor y = Tensor::empty(x.shape, out);
  if (y.numel() == 0) return y;
  dispatch(x.dtype, out, op, [&](auto tin, auto tout) {
    using T = decltype(tin);
    using To = decltype(tout);
    // TensorFlow reads fill_value only in constant mode.
    const To fv = fill == FillMode::constant ? To(fill_value) : To(0);
    sample<T, To>(x, y, Window{0, 0, d.H, d.W}, interp, fill, fv,
                  [&](int64_t n, int64_t ox, int64_t oy, float& sx, float& sy) {
                    const float* m = tp + (shared ? 0 : 6 * n);
                    const float fx = float(ox), fy = float(oy);
                    sx = m[0] * fx + m[1] * fy + m[2];
                    sy = m[3] * fx + m[4] * fy + m[5];
                  });
  });
  return y;
}

Tensor image_resize(const Tensor& x_, int64_t height, int64_t width, Interpolation interp, int64_t top, int64_t left,
                    int64_t crop_h, int64_t crop_w, DType out) {
  const char* op = "image_resize";
  const Dims d = image_dims(x_, op);
  TT_CHECK(height >= 1 && width >= 1, op, ": the output size must be positive, got ", Shape{height, width});
  TT_CHECK(top >= 0 && left >= 0 && crop_h >= 1 && crop_w >= 1 && top + crop_h <= d.H && left + crop_w <= d.W, op,
           ": the window (top ", top, ", left ", left, ", height ", crop_h, ", width ", crop_w,
           ") must be non-empty and inside the images of shape ", x_.shape);
  const Tensor x = x_.contiguous();
  Tensor y = Tensor::empty({d.N, height, width, d.C}, out);
  if (y.numel() == 0) return y;
  // TensorFlow's half-pixel centres: output pixel o reads (o + 0.5) * in/out - 0.5,
  // clamped to the window (fill mode nearest).
  const float sh = float(crop_h) / float(height), sw = float(crop_w) / float(width);
  dispatch(x.dtype, out, op, [&](auto tin, auto tout) {
    using T = decltype(tin);
    using To = decltype(tout);
    sample<T, To>(x, y, Window{top, left, crop_h, crop_w}, interp, FillMode::nearest, To(0),
                  [&](int64_t, int64_t ox, int64_t oy, float& sx, float& sy) {
                    sx = (float(ox) + 0.5f) * sw - 0.5f;
                    sy = (float(oy) + 0.5f) * sh - 0.5f;
                  });
  });
  return y;
}

Tensor image_flip(const Tensor& x_, const Tensor& flags_, DType out) {
  const char* op = "image_flip";
  const Dims d = image_dims(x_, op);
  TT_TYPE_CHECK(flags_.dtype == DType::u8, op, ": flags must be uint8, got ", dtype_name(flags_.dtype));
  TT_CHECK(flags_.ndim() == 1 && flags_.shape[0] == d.N, op, ": flags must have shape (", d.N, ",), got ",
           flags_.shape);
  const Tensor x = x_.contiguous(), flags = flags_.contiguous();
  Tensor y = Tensor::empty(x.shape, out);
  const uint8_t* f = flags.data<uint8_t>();
  dispatch(x.dtype, out, op, [&](auto tin, auto tout) {
    using T = decltype(tin);
    using To = decltype(tout);
    const T* xp = x.data<T>();
    To* yp = y.data<To>();
    parallel_for(0, d.N * d.H, row_grain(d.W * d.C), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t n = r / d.H, i = r % d.H;
        const T* src = xp + ((n * d.H + ((f[n] & 2) ? d.H - 1 - i : i)) * d.W) * d.C;
        To* dst = yp + r * d.W * d.C;
        for (int64_t j = 0; j < d.W; ++j) {
          const T* s = src + ((f[n] & 1) ? d.W - 1 - j : j) * d.C;
          for (int64_t c = 0; c < d.C; ++c) dst[j * d.C + c] = To(s[c]);
        }
      }
    });
  });
  return y;
}

Tensor image_crop(const Tensor& x_, const Tensor& offsets_, int64_t height, int64_t width, DType out) {
  const char* op = "image_crop";
  const Dims d = image_dims(x_, op);
  TT_CHECK(height >= 0 && width >= 0 && height <= d.H && width <= d.W, op, ": the crop size ", Shape{height, width},
           " must fit in the images of shape ", x_.shape);
  TT_TYPE_CHECK(offsets_.dtype == DType::i32 || offsets_.dtype == DType::i64, op,
                ": offsets must be int32 or int64, got ", dtype_name(offsets_.dtype));
  TT_CHECK(offsets_.ndim() == 2 && offsets_.shape[0] == d.N && offsets_.shape[1] == 2, op,
           ": offsets must have shape (", d.N, ", 2), got ", offsets_.shape);
  const Tensor o = offsets_.to(DType::i64);
  const int64_t* off = o.data<int64_t>();
  for (int64_t n = 0; n < d.N; ++n)
    TT_CHECK(off[2 * n] >= 0 && off[2 * n] <= d.H - height && off[2 * n + 1] >= 0 && off[2 * n + 1] <= d.W - width,
             op, ": the window at (", off[2 * n], ", ", off[2 * n + 1], ") of size ", Shape{height, width},
             " is outside image ", n, " of shape ", x_.shape);
  const Tensor x = x_.contiguous();
  Tensor y = Tensor::empty({d.N, height, width, d.C}, out);
  dispatch(x.dtype, out, op, [&](auto tin, auto tout) {
    using T = decltype(tin);
    using To = decltype(tout);
    const T* xp = x.data<T>();
    To* yp = y.data<To>();
    parallel_for(0, d.N * height, row_grain(width * d.C), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t n = r / height, i = r % height;
        const T* src = xp + ((n * d.H + off[2 * n] + i) * d.W + off[2 * n + 1]) * d.C;
        std::transform(src, src + width * d.C, yp + r * width * d.C, [](T v) { return To(v); });
      }
    });
  });
  return y;
}

Tensor image_contrast(const Tensor& x_, const Tensor& factors, double lo, double hi, DType out) {
  const char* op = "image_contrast";
  const Dims d = image_dims(x_, op);
  TT_CHECK(lo <= hi, op, ": value range must have low <= high, got [", lo, ", ", hi, "]");
  const std::vector<double> f = per_image(factors, d.N, op, "factors");
  const Tensor x = x_.contiguous();
  Tensor y = Tensor::empty(x.shape, out);
  const int64_t HW = d.H * d.W, C = d.C;
  dispatch(x.dtype, out, op, [&](auto tin, auto tout) {
    using T = decltype(tin);
    using To = decltype(tout);
    parallel_for(0, d.N, row_grain(HW * C, 32768), [&](int64_t n0, int64_t n1) {
      std::vector<double> sum(C);
      std::vector<To> mean(C);
      for (int64_t n = n0; n < n1; ++n) {
        const T* src = x.data<T>() + n * HW * C;
        To* dst = y.data<To>() + n * HW * C;
        std::fill(sum.begin(), sum.end(), 0.0);
        for (int64_t p = 0; p < HW; ++p)
          for (int64_t c = 0; c < C; ++c) sum[c] += double(src[p * C + c]);
        for (int64_t c = 0; c < C; ++c) mean[c] = To(HW ? sum[c] / double(HW) : 0.0);
        const To k = To(f[n]), l = To(lo), h = To(hi);
        for (int64_t p = 0; p < HW; ++p)
          for (int64_t c = 0; c < C; ++c)
            dst[p * C + c] = std::min(std::max((To(src[p * C + c]) - mean[c]) * k + mean[c], l), h);
      }
    });
  });
  return y;
}

Tensor image_brightness(const Tensor& x_, const Tensor& deltas, double lo, double hi, DType out) {
  const char* op = "image_brightness";
  const Dims d = image_dims(x_, op);
  TT_CHECK(lo <= hi, op, ": value range must have low <= high, got [", lo, ", ", hi, "]");
  const std::vector<double> delta = per_image(deltas, d.N, op, "deltas");
  const Tensor x = x_.contiguous();
  Tensor y = Tensor::empty(x.shape, out);
  const int64_t row = d.W * d.C;
  dispatch(x.dtype, out, op, [&](auto tin, auto tout) {
    using T = decltype(tin);
    using To = decltype(tout);
    const T* xp = x.data<T>();
    To* yp = y.data<To>();
    const To l = To(lo), h = To(hi);
    parallel_for(0, d.N * d.H, row_grain(row), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const To k = To(delta[r / d.H]);
        for (int64_t i = r * row; i < (r + 1) * row; ++i) yp[i] = std::min(std::max(To(xp[i]) + k, l), h);
      }
    });
  });
  return y;
}

}  // namespace tt::kernels
