// Softmax, log-softmax and the fused cross-entropy losses (see nn.h).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "../core/parallel.h"
#include "expf.h"
#include "nn.h"
#include "nn_util.h"

namespace tt::kernels {
namespace {

using nn_detail::check_like;
using nn_detail::sum_of;

constexpr int64_t kRowGrain = 16384;  // elements per thread before splitting rows pays

// A tensor seen as (outer, n, inner) around one axis: outer * inner rows of n
// elements each. Row r = o * inner + i is also the flat index into the
// (outer, inner) shape of a per-row result.
struct Rows {
  int64_t outer = 1, n = 1, inner = 1;
  int axis = 0;
  int64_t count() const { return outer * inner; }
};

Rows rows_along(const char* op, const Tensor& x, int axis) {
  const int nd = x.ndim();
  TT_CHECK(axis >= -nd && axis < nd, op, ": axis ", axis, " is out of range for input of shape ", x.shape);
  Rows r;
  r.axis = axis < 0 ? axis + nd : axis;
  for (int d = 0; d < nd; ++d) (d < r.axis ? r.outer : d == r.axis ? r.n : r.inner) *= x.shape[d];
  return r;
}

Shape without_axis(Shape s, int axis) {
  s.erase(s.begin() + axis);
  return s;
}

// Calls fn(in, out, r) for every row r of contiguous tensors shaped
// (outer, n, inner), where in[k] / out[k] point at the n elements of row r,
// always contiguous: rows along the last axis are used in place, other rows
// are gathered into scratch (one slot per part, allocated before the parallel
// region) and the outputs scattered back. Each row is handled by one thread,
// so row kernels are deterministic for any thread count.
template <typename T, int NIn, int NOut, typename F>
void for_each_row_along(const Rows& rows, const std::array<const T*, NIn>& in, const std::array<T*, NOut>& out,
                        const F& fn) {
  const int64_t count = rows.count(), n = rows.n, inner = rows.inner;
  const int64_t grain = std::max<int64_t>(1, kRowGrain / std::max<int64_t>(n, 1));
  if (inner == 1) {
    parallel_for(0, count, grain, [&](int64_t r0, int64_t r1) {
      std::array<const T*, NIn> pi;
      std::array<T*, NOut> po;
      for (int64_t r = r0; r < r1; ++r) {
        for (int k = 0; k < NIn; ++k) pi[k] = in[k] + r * n;
        for (int k = 0; k < NOut; ++k) po[k] = out[k] + r * n;
        fn(pi.data(), po.data(), r);
      }
    });
    return;
  }
  const int64_t parts = std::min<int64_t>(num_threads(), (count + grain - 1) / grain);
  const int64_t slot = (NIn + NOut) * n;
  std::vector<T> scratch(size_t(parts * slot));
  parallel_for(0, parts, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      T* buf = scratch.data() + p * slot;
      std::array<const T*, NIn> pi;
      std::array<T*, NOut> po;
      for (int k = 0; k < NIn; ++k) pi[k] = buf + k * n;
      for (int k = 0; k < NOut; ++k) po[k] = buf + (NIn + k) * n;
      for (int64_t r = count * p / parts; r < count * (p + 1) / parts; ++r) {
        const int64_t base = (r / inner) * n * inner + r % inner;
        for (int k = 0; k < NIn; ++k)
          for (int64_t j = 0; j < n; ++j) buf[k * n + j] = in[k][base + j * inner];
        fn(pi.data(), po.data(), r);
        for (int k = 0; k < NOut; ++k)
          for (int64_t j = 0; j < n; ++j) out[k][base + j * inner] = po[k][j];
      }
    }
  });
}

// max over a row with 8 independent running maxima (no single dependency
// chain). A NaN entry may be skipped here, but it still poisons exp_sum below.
template <typename T>
T row_max(const T* x, int64_t n) {
  const T ninf = -std::numeric_limits<T>::infinity();
  T acc[8] = {ninf, ninf, ninf, ninf, ninf, ninf, ninf, ninf};
  const int64_t n8 = n - n % 8;
  for (int64_t j = 0; j < n8; j += 8)
    for (int k = 0; k < 8; ++k) acc[k] = x[j + k] > acc[k] ? x[j + k] : acc[k];
  for (int64_t j = n8; j < n; ++j) acc[0] = x[j] > acc[0] ? x[j] : acc[0];
  T m = acc[0];
  for (int k = 1; k < 8; ++k) m = acc[k] > m ? acc[k] : m;
  return m;
}

// exp(x) for x <= 0, the only arguments softmax needs (x - max(row)).
// Below -87.3, where expf would return denormals, it returns 0; so -inf
// gives exactly 0, and NaN stays NaN.
inline float exp_nonpos(float x) {
  const float e = expf_core(x);
  // A mask built with integer ops, not `x < lo ? 0 : e`: GCC will not
  // if-convert that select (trapping math), which would stop vectorisation.
  const uint32_t keep = uint32_t(x < -87.33654f) - 1u;
  return bit_cast<float>(bit_cast<uint32_t>(e) & keep);
}
inline double exp_nonpos(double x) { return std::exp(x); }  // float64 serves gradient checks

// For `rows` contiguous rows of n elements: e = exp(x - m) with m the row's
// max (m[r]), and s[r] = sum(e) of the row. Shifting by the row max keeps
// every exp in (0, 1], so logits of +-1e4 cannot overflow; entries of -inf
// give exactly 0, and a row that is all -inf has m = -inf and gives NaN
// (-inf - -inf). x - m goes row by row, then one exp loop covers all rows:
// narrow rows (ten class scores) would otherwise be all vector-loop tail.
// Not inlined: one copy per dtype serves every softmax-like op.
template <typename T>
__attribute__((noinline)) void exp_rows(const T* x, int64_t rows, int64_t n, T* e, T* m, double* s) {
  for (int64_t r = 0; r < rows; ++r) {
    const T mr = m[r] = row_max(x + r * n, n);
    for (int64_t j = 0; j < n; ++j) e[r * n + j] = x[r * n + j] - mr;
  }
  for (int64_t i = 0; i < rows * n; ++i) e[i] = exp_nonpos(e[i]);
  for (int64_t r = 0; r < rows; ++r) s[r] = sum_of(n, [&](int64_t j) { return double(e[r * n + j]); });
}

// Calls fn(in, out, row, m, s) for every row of (outer, n, inner) tensors
// once out[0] holds exp(in[0] - m) for the row (exp_rows; blocks of whole
// rows when they are contiguous). The values do not depend on the blocks.
template <typename T, int NIn, typename F>
void for_each_softmax_row(const Rows& rows, const std::array<const T*, NIn>& in, T* out, const F& fn) {
  const int64_t n = rows.n;
  if (rows.inner != 1 || n == 0) {
    for_each_row_along<T, NIn, 1>(rows, in, {out}, [&](const T* const* pi, T* const* po, int64_t r) {
      T m;
      double s;
      exp_rows(pi[0], 1, n, po[0], &m, &s);
      fn(pi, po, r, m, s);
    });
    return;
  }
  constexpr int64_t kBlockElems = 2048, kMaxBlockRows = 256;
  const int64_t block = std::clamp<int64_t>(kBlockElems / n, 1, kMaxBlockRows);
  parallel_for(0, rows.count(), std::max<int64_t>(1, kRowGrain / n), [&](int64_t r0, int64_t r1) {
    T m[kMaxBlockRows];
    double s[kMaxBlockRows];
    std::array<const T*, NIn> pi;
    for (int64_t b0 = r0; b0 < r1; b0 += block) {
      const int64_t b1 = std::min(r1, b0 + block);
      exp_rows(in[0] + b0 * n, b1 - b0, n, out + b0 * n, m, s);
      for (int64_t r = b0; r < b1; ++r) {
        for (int k = 0; k < NIn; ++k) pi[k] = in[k] + r * n;
        T* po = out + r * n;
        fn(pi.data(), &po, r, m[r - b0], s[r - b0]);
      }
    }
  });
}

// a * b where a zero weight b contributes exactly 0, even against an infinite a.
template <typename T>
inline T mul0(T a, T b) {
  return b == T(0) ? T(0) : a * b;
}

}  // namespace

Tensor softmax(const Tensor& x_, int axis) {
  const Rows rows = rows_along("softmax", x_, axis);
  return TT_DISPATCH_FLOAT(x_.dtype, "softmax", [&](auto tag) {
    using T = decltype(tag);
    const Tensor x = x_.contiguous();
    Tensor y = Tensor::empty(x.shape, x.dtype);
    const int64_t n = rows.n;
    for_each_softmax_row<T, 1>(rows, {x.data<T>()}, y.data<T>(), [&](const T* const*, T* const* out, int64_t, T, double s) {
      const T inv = T(1.0 / s);
      for (int64_t j = 0; j < n; ++j) out[0][j] *= inv;
    });
    return y;
  });
}

Tensor log_softmax(const Tensor& x_, int axis) {
  const Rows rows = rows_along("log_softmax", x_, axis);
  return TT_DISPATCH_FLOAT(x_.dtype, "log_softmax", [&](auto tag) {
    using T = decltype(tag);
    const Tensor x = x_.contiguous();
    Tensor y = Tensor::empty(x.shape, x.dtype);
    const int64_t n = rows.n;
    for_each_softmax_row<T, 1>(rows, {x.data<T>()}, y.data<T>(), [&](const T* const* in, T* const* out, int64_t, T m,
                                                                   double s) {
      const T* xr = in[0];
      const T lse = T(std::log(s));  // log(sum(exp(x - m)))
      for (int64_t j = 0; j < n; ++j) out[0][j] = (xr[j] - m) - lse;
    });
    return y;
  });
}

Tensor softmax_backward(const Tensor& y_, const Tensor& dy_, int axis) {
  const Rows rows = rows_along("softmax_backward", y_, axis);
  check_like("softmax_backward", dy_, "dy", y_, "y");
  return TT_DISPATCH_FLOAT(y_.dtype, "softmax_backward", [&](auto tag) {
    using T = decltype(tag);
    const Tensor y = y_.contiguous(), dy = dy_.contiguous();
    Tensor dx = Tensor::empty(y.shape, y.dtype);
    const int64_t n = rows.n;
    for_each_row_along<T, 2, 1>(rows, {y.data<T>(), dy.data<T>()}, {dx.data<T>()},
                                [&](const T* const* in, T* const* out, int64_t) {
                                  const T *yr = in[0], *g = in[1];
                                  const double dot = sum_of(n, [&](int64_t j) { return double(g[j]) * yr[j]; });
                                  for (int64_t j = 0; j < n; ++j) out[0][j] = yr[j] * (g[j] - T(dot));
                                });
    return dx;
  });
}

Tensor log_softmax_backward(const Tensor& y_, const Tensor& dy_, int axis) {
  const Rows rows = rows_along("log_softmax_backward", y_, axis);
  check_like("log_softmax_backward", dy_, "dy", y_, "y");
  return TT_DISPATCH_FLOAT(y_.dtype, "log_softmax_backward", [&](auto tag) {
    using T = decltype(tag);
    const Tensor y = y_.contiguous(), dy = dy_.contiguous();
    Tensor dx = Tensor::empty(y.shape, y.dtype);
    const int64_t n = rows.n;
    for_each_row_along<T, 2, 1>(rows, {y.data<T>(), dy.data<T>()}, {dx.data<T>()},
                                [&](const T* const* in, T* const* out, int64_t) {
                                  const T *yr = in[0], *g = in[1];
                                  const double sum = sum_of(n, [&](int64_t j) { return double(g[j]); });
                                  for (int64_t j = 0; j < n; ++j) out[0][j] = g[j] - std::exp(yr[j]) * T(sum);
                                });
    return dx;
  });
}

LossGrad softmax_cross_entropy(const Tensor& logits_, const Tensor& labels_, int axis) {
  const char* op = "softmax_cross_entropy";
  const Rows rows = rows_along(op, logits_, axis);
  check_like(op, labels_, "labels", logits_, "logits");
  return TT_DISPATCH_FLOAT(logits_.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    const Tensor x = logits_.contiguous(), z = labels_.contiguous();
    LossGrad r{Tensor::empty(without_axis(x.shape, rows.axis), x.dtype), Tensor::empty(x.shape, x.dtype)};
    T* loss = r.loss.data<T>();
    const int64_t n = rows.n;
    for_each_softmax_row<T, 2>(
        rows, {x.data<T>(), z.data<T>()}, r.dlogits.data<T>(),
        [&](const T* const* in, T* const* out, int64_t row, T m, double s) {
          const T *xr = in[0], *zr = in[1];
          T* d = out[0];
          const double lse = std::log(s);
          // -sum z log_softmax(x) = sum z (lse - (x - m)), in shifted form so
          // large logits lose no precision; NaN rows (or all -inf) give NaN.
          const double l = sum_of(n, [&](int64_t j) { return mul0(lse - (double(xr[j]) - m), double(zr[j])); });
          const double zsum = sum_of(n, [&](int64_t j) { return double(zr[j]); });
          loss[row] = T(std::isnan(lse) ? lse : l);
          const T f = T(zsum / s);  // softmax * sum(z) - z
          for (int64_t j = 0; j < n; ++j) d[j] = d[j] * f - zr[j];
        });
    return r;
  });
}

LossGrad sparse_softmax_cross_entropy(const Tensor& logits_, const Tensor& labels_) {
  const char* op = "sparse_softmax_cross_entropy";
  nn_detail::check_float(op, logits_, "logits");
  const Rows rows = rows_along(op, logits_, -1);
  TT_TYPE_CHECK(labels_.dtype == DType::i32 || labels_.dtype == DType::i64, op,
                ": labels must be int32 or int64, got ", dtype_name(labels_.dtype));
  const Shape row_shape = without_axis(logits_.shape, rows.axis);
  TT_CHECK(labels_.shape == row_shape, op, ": labels must have shape ", row_shape, " for logits of shape ",
           logits_.shape, ", got ", labels_.shape);
  const Tensor labels = labels_.to(DType::i64);
  const int64_t* lab = labels.data<int64_t>();
  for (int64_t i = 0; i < labels.numel(); ++i) {
    if (lab[i] >= 0 && lab[i] < rows.n) continue;
    Shape pos(row_shape.size());
    for (int64_t d = int64_t(pos.size()) - 1, k = i; d >= 0; --d) pos[d] = k % row_shape[d], k /= row_shape[d];
    TT_INDEX_CHECK(false, op, ": label ", lab[i], " at position ", pos, " is outside the valid range [0, ",
                   rows.n, ") of logits with shape ", logits_.shape);
  }
  return TT_DISPATCH_FLOAT(logits_.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    const Tensor x = logits_.contiguous();
    LossGrad r{Tensor::empty(row_shape, x.dtype), Tensor::empty(x.shape, x.dtype)};
    T* loss = r.loss.data<T>();
    const int64_t n = rows.n;
    for_each_softmax_row<T, 1>(rows, {x.data<T>()}, r.dlogits.data<T>(),
                               [&](const T* const* in, T* const* out, int64_t row, T m, double s) {
                                  const T* xr = in[0];
                                  T* d = out[0];
                                  const int64_t c = lab[row];
                                  loss[row] = T(std::log(s) - (double(xr[c]) - m));
                                  const T inv = T(1.0 / s);
                                  for (int64_t j = 0; j < n; ++j) d[j] *= inv;
                                  d[c] -= T(1);
                                });
    return r;
  });
}

LossGrad sigmoid_cross_entropy(const Tensor& logits_, const Tensor& labels_) {
  const char* op = "sigmoid_cross_entropy";
  check_like(op, labels_, "labels", logits_, "logits");
  return TT_DISPATCH_FLOAT(logits_.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    const Tensor x = logits_.contiguous(), z = labels_.contiguous();
    LossGrad r{Tensor::empty(x.shape, x.dtype), Tensor::empty(x.shape, x.dtype)};
    const T *xp = x.data<T>(), *zp = z.data<T>();
    T *loss = r.loss.data<T>(), *d = r.dlogits.data<T>();
    parallel_for(0, x.numel(), kRowGrain, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        const T xi = xp[i], zi = zp[i];
        // max(x, 0) - x z + log1p(exp(-|x|)): exp never overflows. The linear
        // part is split by sign so that x = +-inf gives 0 when the label agrees.
        const T e = std::exp(-std::fabs(xi));
        loss[i] = (xi >= 0 ? mul0(xi, T(1) - zi) : mul0(-xi, zi)) + std::log1p(e);
        d[i] = (xi >= 0 ? T(1) / (T(1) + e) : e / (T(1) + e)) - zi;  // sigmoid(x) - z
      }
    });
    return r;
  });
}

}  // namespace tt::kernels
