// Batch and layer normalisation, forward and backward (see nn.h).
#include <cmath>
#include <vector>

#include "../core/parallel.h"
#include "nn.h"
#include "nn_util.h"

namespace tt::kernels {
namespace {

using nn_detail::check_epsilon;
using nn_detail::check_float;
using nn_detail::check_like;
using nn_detail::check_param;
using nn_detail::sum_of;

constexpr int64_t kGrain = 32768;  // elements per thread before splitting rows pays

// x seen as (rows, cols): cols = the trailing `trailing` axes.
struct Matrix {
  int64_t rows = 1, cols = 1;
};

Matrix as_matrix(const Shape& s, int trailing) {
  Matrix m;
  for (size_t d = 0; d < s.size(); ++d) (d + trailing < s.size() ? m.rows : m.cols) *= s[d];
  return m;
}

// Sums over the rows of a (rows, cols) problem, bitwise identical for any
// thread count: rows are cut into blocks whose size depends only on cols,
// each block writes its own K * cols partial results (in double), and the
// partials are then combined block by block in a fixed order.
struct Blocks {
  int64_t rows, size, count;
  explicit Blocks(int64_t rows_, int64_t cols)
      : rows(rows_), size(std::max<int64_t>(16, 16384 / std::max<int64_t>(cols, 1))), count((rows + size - 1) / size) {}
  int64_t begin(int64_t b) const { return b * size; }
  int64_t end(int64_t b) const { return std::min(rows, (b + 1) * size); }
};

// block(r0, r1, part) fills part[k * cols + c] (zero-initialised) from rows
// [r0, r1); it may also write per-row outputs. Returns all blocks' partials.
template <int K, typename F>
std::vector<double> block_partials(const Blocks& B, int64_t cols, const F& block) {
  const int64_t width = K * cols;
  std::vector<double> part(size_t(B.count * width), 0.0);
  parallel_for(0, B.count, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) block(B.begin(b), B.end(b), part.data() + b * width);
  });
  return part;
}

// total[i] = sum over blocks b, in order, of term(b, i), for i in [0, width).
template <typename F>
std::vector<double> fold_blocks(const Blocks& B, int64_t width, const F& term) {
  std::vector<double> total(size_t(width), 0.0);
  parallel_for(0, width, 4096, [&](int64_t i0, int64_t i1) {
    for (int64_t b = 0; b < B.count; ++b)
      for (int64_t i = i0; i < i1; ++i) total[i] += term(b, i);
  });
  return total;
}

// Per-row elementwise pass over a (rows, cols) problem.
template <typename F>
void for_rows(const Matrix& m, const F& fn) {
  parallel_for(0, m.rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(m.cols, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) fn(r);
  });
}

// The values of an optional parameter as a plain array (`fallback` when it is
// absent), so that inner loops have no branches.
template <typename T>
std::vector<T> values_or(const Tensor* t, int64_t n, T fallback) {
  std::vector<T> v(size_t(n), fallback);
  if (t) {
    const Tensor c = t->contiguous();
    std::copy(c.data<T>(), c.data<T>() + n, v.begin());
  }
  return v;
}

template <typename T>
Tensor vector_of(const std::vector<double>& v, const Shape& shape) {
  Tensor t = Tensor::empty(shape, dtype_of<T>::value);
  T* p = t.data<T>();
  for (size_t i = 0; i < v.size(); ++i) p[i] = T(v[i]);
  return t;
}

void check_bn_input(const char* op, const Tensor& x) {
  check_float(op, x, "x");
  TT_CHECK(x.ndim() >= 1, op, ": expected an input of rank >= 1 (channels last), got shape ", x.shape);
}

}  // namespace

NormForward batch_norm_train(const Tensor& x_, const Tensor* gamma, const Tensor* beta, double epsilon) {
  const char* op = "batch_norm_train";
  check_bn_input(op, x_);
  const Shape cshape{x_.shape.back()};
  check_param(op, gamma, "gamma", cshape, x_);
  check_param(op, beta, "beta", cshape, x_);
  check_epsilon(op, epsilon);
  return TT_DISPATCH_FLOAT(x_.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    const Tensor x = x_.contiguous();
    const Matrix m = as_matrix(x.shape, 1);
    const int64_t C = m.cols;
    const T* xp = x.data<T>();
    // One read of x for both statistics: each block (small enough to stay in
    // cache) gives its sum and its squared deviations from its own mean, two
    // passes that never cancel the way E[x^2] - E[x]^2 does; blocks then
    // combine as in Chan et al.: M2 = sum_b M2_b + n_b (mean_b - mean)^2.
    const Blocks B(m.rows, C);
    const std::vector<double> part = block_partials<2>(B, C, [&](int64_t r0, int64_t r1, double* acc) {
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t c = 0; c < C; ++c) acc[c] += xp[r * C + c];
      const double inv = 1.0 / double(r1 - r0);
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t c = 0; c < C; ++c) {
          const double d = xp[r * C + c] - acc[c] * inv;
          acc[C + c] += d * d;
        }
    });
    const double N = double(m.rows);  // an empty batch gives NaN statistics, as numpy and TF do
    std::vector<double> mean = fold_blocks(B, C, [&](int64_t b, int64_t c) { return part[b * 2 * C + c]; });
    for (double& v : mean) v /= N;
    std::vector<double> var = fold_blocks(B, C, [&](int64_t b, int64_t c) {
      const double nb = double(B.end(b) - B.begin(b)), d = part[b * 2 * C + c] / nb - mean[c];
      return part[b * 2 * C + C + c] + nb * d * d;
    });
    for (double& v : var) v /= N;
    // y = (x - mean) * scale + beta, scale = gamma / sqrt(var + eps)
    const std::vector<T> gamma_v = values_or<T>(gamma, C, T(1)), beta_v = values_or<T>(beta, C, T(0));
    std::vector<T> mu(C), scale(C);
    for (int64_t c = 0; c < C; ++c) {
      mu[c] = T(mean[c]);
      scale[c] = T(gamma_v[c] / std::sqrt(var[c] + epsilon));
    }
    Tensor y = Tensor::empty(x.shape, x.dtype);
    T* yp = y.data<T>();
    for_rows(m, [&](int64_t r) {
      for (int64_t c = 0; c < C; ++c) yp[r * C + c] = (xp[r * C + c] - mu[c]) * scale[c] + beta_v[c];
    });
    return NormForward{y, vector_of<T>(mean, cshape), vector_of<T>(var, cshape)};
  });
}

NormGrads batch_norm_backward(const Tensor& x_, const Tensor& dy_, const Tensor* gamma, const Tensor& mean_,
                              const Tensor& var_, double epsilon) {
  const char* op = "batch_norm_backward";
  check_bn_input(op, x_);
  check_like(op, dy_, "dy", x_, "x");
  const Shape cshape{x_.shape.back()};
  check_param(op, gamma, "gamma", cshape, x_);
  check_param(op, &mean_, "mean", cshape, x_);
  check_param(op, &var_, "var", cshape, x_);
  check_epsilon(op, epsilon);
  return TT_DISPATCH_FLOAT(x_.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    const Tensor x = x_.contiguous(), dy = dy_.contiguous();
    const Matrix m = as_matrix(x.shape, 1);
    const int64_t C = m.cols;
    const std::vector<T> g = values_or<T>(gamma, C, T(1)), mean = values_or<T>(&mean_, C, T(0)),
                         var = values_or<T>(&var_, C, T(0));
    const T *xp = x.data<T>(), *gp = dy.data<T>();
    // dbeta = sum(dy), dgamma = sum(dy * xhat) = rstd * sum(dy * (x - mean))
    const Blocks B(m.rows, C);
    const std::vector<double> part = block_partials<2>(B, C, [&](int64_t r0, int64_t r1, double* acc) {
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t c = 0; c < C; ++c) {
          const double d = gp[r * C + c];
          acc[c] += d;
          acc[C + c] += d * (double(xp[r * C + c]) - mean[c]);
        }
    });
    const std::vector<double> s = fold_blocks(B, 2 * C, [&](int64_t b, int64_t i) { return part[b * 2 * C + i]; });
    // dx = gamma rstd (dy - mean(dy) - xhat mean(dy xhat))
    //    = a (dy - b - (x - mean) k) with per-channel a, b, k below.
    const double N = double(m.rows);
    std::vector<double> dgamma(C), dbeta(C);
    std::vector<T> a(C), bb(C), k(C);
    for (int64_t c = 0; c < C; ++c) {
      const double rstd = 1.0 / std::sqrt(double(var[c]) + epsilon);
      dbeta[c] = s[c];
      dgamma[c] = s[C + c] * rstd;
      a[c] = T(g[c] * rstd);
      bb[c] = T(dbeta[c] / N);
      k[c] = T(dgamma[c] * rstd / N);
    }
    Tensor dx = Tensor::empty(x.shape, x.dtype);
    T* dxp = dx.data<T>();
    for_rows(m, [&](int64_t r) {
      for (int64_t c = 0; c < C; ++c) {
        const int64_t i = r * C + c;
        dxp[i] = a[c] * (gp[i] - bb[c] - (xp[i] - mean[c]) * k[c]);
      }
    });
    return NormGrads{dx, vector_of<T>(dgamma, cshape), vector_of<T>(dbeta, cshape)};
  });
}

Tensor batch_norm_inference(const Tensor& x_, const Tensor& mean_, const Tensor& var_, const Tensor* gamma,
                            const Tensor* beta, double epsilon) {
  const char* op = "batch_norm_inference";
  check_bn_input(op, x_);
  const Shape cshape{x_.shape.back()};
  check_param(op, &mean_, "mean", cshape, x_);
  check_param(op, &var_, "var", cshape, x_);
  check_param(op, gamma, "gamma", cshape, x_);
  check_param(op, beta, "beta", cshape, x_);
  check_epsilon(op, epsilon);
  return TT_DISPATCH_FLOAT(x_.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    const Tensor x = x_.contiguous();
    const Matrix m = as_matrix(x.shape, 1);
    const int64_t C = m.cols;
    const std::vector<T> g = values_or<T>(gamma, C, T(1)), b = values_or<T>(beta, C, T(0)),
                         mean = values_or<T>(&mean_, C, T(0)), var = values_or<T>(&var_, C, T(0));
    std::vector<T> scale(C);
    for (int64_t c = 0; c < C; ++c) scale[c] = T(g[c] / std::sqrt(double(var[c]) + epsilon));
    Tensor y = Tensor::empty(x.shape, x.dtype);
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    for_rows(m, [&](int64_t r) {
      for (int64_t c = 0; c < C; ++c) yp[r * C + c] = (xp[r * C + c] - mean[c]) * scale[c] + b[c];
    });
    return y;
  });
}

namespace {

// Checks shared by layer_norm and its backward; returns the normalised shape.
Shape check_ln(const char* op, const Tensor& x, int axis_count, const Tensor* gamma) {
  check_float(op, x, "x");
  TT_CHECK(axis_count >= 1 && axis_count <= x.ndim(), op, ": axis_count must be in [1, ", x.ndim(),
           "] for input of shape ", x.shape, ", got ", axis_count);
  const Shape norm_shape(x.shape.end() - axis_count, x.shape.end());
  check_param(op, gamma, "gamma", norm_shape, x);
  return norm_shape;
}

}  // namespace

NormForward layer_norm(const Tensor& x_, const Tensor* gamma, const Tensor* beta, double epsilon, int axis_count) {
  const char* op = "layer_norm";
  const Shape norm_shape = check_ln(op, x_, axis_count, gamma);
  check_param(op, beta, "beta", norm_shape, x_);
  check_epsilon(op, epsilon);
  return TT_DISPATCH_FLOAT(x_.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    const Tensor x = x_.contiguous();
    const Matrix m = as_matrix(x.shape, axis_count);
    const int64_t D = m.cols;
    const std::vector<T> g = values_or<T>(gamma, D, T(1)), b = values_or<T>(beta, D, T(0));
    const Shape row_shape(x.shape.begin(), x.shape.end() - axis_count);
    Tensor y = Tensor::empty(x.shape, x.dtype), mean = Tensor::empty(row_shape, x.dtype),
           rstd = Tensor::empty(row_shape, x.dtype);
    const T* xp = x.data<T>();
    T *yp = y.data<T>(), *mp = mean.data<T>(), *rp = rstd.data<T>();
    for_rows(m, [&](int64_t r) {
      const T* xr = xp + r * D;
      T* yr = yp + r * D;
      // Two passes over the row (in cache): mean, then squared deviations.
      const double mu = sum_of(D, [&](int64_t j) { return double(xr[j]); }) / double(D);
      const double var = sum_of(D, [&](int64_t j) { return (xr[j] - mu) * (xr[j] - mu); }) / double(D);
      const double rs = 1.0 / std::sqrt(var + epsilon);
      mp[r] = T(mu);
      rp[r] = T(rs);
      const T mu_t = T(mu), rs_t = T(rs);
      for (int64_t j = 0; j < D; ++j) yr[j] = (xr[j] - mu_t) * rs_t * g[j] + b[j];
    });
    return NormForward{y, mean, rstd};
  });
}

NormGrads layer_norm_backward(const Tensor& x_, const Tensor& dy_, const Tensor* gamma, const Tensor& mean_,
                              const Tensor& rstd_, int axis_count) {
  const char* op = "layer_norm_backward";
  const Shape norm_shape = check_ln(op, x_, axis_count, gamma);
  check_like(op, dy_, "dy", x_, "x");
  const Shape row_shape(x_.shape.begin(), x_.shape.end() - axis_count);
  check_param(op, &mean_, "mean", row_shape, x_);
  check_param(op, &rstd_, "rstd", row_shape, x_);
  return TT_DISPATCH_FLOAT(x_.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    const Tensor x = x_.contiguous(), dy = dy_.contiguous();
    const Matrix m = as_matrix(x.shape, axis_count);
    const int64_t D = m.cols;
    const std::vector<T> g = values_or<T>(gamma, D, T(1)), mean = values_or<T>(&mean_, m.rows, T(0)),
                         rstd = values_or<T>(&rstd_, m.rows, T(0));
    Tensor dx = Tensor::empty(x.shape, x.dtype);
    const T *xp = x.data<T>(), *gp = dy.data<T>();
    T* dxp = dx.data<T>();
    // One pass over the rows: each row's dx, and the row's share of
    // dgamma = sum(dy * xhat) and dbeta = sum(dy) over rows.
    const Blocks B(m.rows, D);
    const std::vector<double> part = block_partials<2>(B, D, [&](int64_t r0, int64_t r1, double* acc) {
      for (int64_t r = r0; r < r1; ++r) {
        const T *xr = xp + r * D, *dyr = gp + r * D;
        const double mu = mean[r], rs = rstd[r];
        auto xhat = [&](int64_t j) { return (xr[j] - mu) * rs; };
        // dx = rstd (h - mean(h) - xhat mean(h xhat)) with h = dy * gamma
        const double mh = sum_of(D, [&](int64_t j) { return double(dyr[j]) * g[j]; }) / double(D);
        const double mhx = sum_of(D, [&](int64_t j) { return double(dyr[j]) * g[j] * xhat(j); }) / double(D);
        for (int64_t j = 0; j < D; ++j) {
          const double xh = xhat(j), h = double(dyr[j]) * g[j];
          dxp[r * D + j] = T(rs * (h - mh - xh * mhx));
          acc[j] += dyr[j] * xh;
          acc[D + j] += dyr[j];
        }
      }
    });
    const std::vector<double> s = fold_blocks(B, 2 * D, [&](int64_t b, int64_t i) { return part[b * 2 * D + i]; });
    std::vector<double> dgamma(s.begin(), s.begin() + D), dbeta(s.begin() + D, s.end());
    return NormGrads{dx, vector_of<T>(dgamma, norm_shape), vector_of<T>(dbeta, norm_shape)};
  });
}

}  // namespace tt::kernels
