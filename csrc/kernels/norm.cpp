// Batch and layer normalisation, forward and backward (see nn.h).
#include <cmath>
#include <vector>

#include "../core/parallel.h"
#include "nn.h"
#include "nn_checks.h"

namespace tt::kernels {
namespace {

using nn_detail::check_epsilon;
using nn_detail::check_float;
using nn_detail::check_like;
using nn_detail::check_param;

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

// Sums K per-column quantities over the rows of a (rows, cols) problem, in
// double. Rows are cut into blocks whose size depends only on cols; each block
// accumulates into its own partial sums, which are then added block by block
// in order, so the result is bitwise the same for any thread count.
// block(r0, r1, acc) adds the contribution of rows [r0, r1) for quantity k and
// column c to acc[k * cols + c] (it may also write per-row outputs).
template <int K, typename F>
std::vector<double> column_sums(int64_t rows, int64_t cols, const F& block) {
  const int64_t R = std::max<int64_t>(16, 16384 / std::max<int64_t>(cols, 1));
  const int64_t nblocks = (rows + R - 1) / R, width = K * cols;
  std::vector<double> partial(size_t(nblocks * width), 0.0);
  parallel_for(0, nblocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) block(b * R, std::min(rows, (b + 1) * R), partial.data() + b * width);
  });
  std::vector<double> total(size_t(width), 0.0);
  parallel_for(0, width, 4096, [&](int64_t c0, int64_t c1) {
    for (int64_t b = 0; b < nblocks; ++b)
      for (int64_t c = c0; c < c1; ++c) total[c] += partial[b * width + c];
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

// Contiguous data of an optional parameter, or null.
template <typename T>
struct Param {
  Tensor t;
  const T* p = nullptr;
  explicit Param(const Tensor* opt) {
    if (opt) t = opt->contiguous(), p = t.data<T>();
  }
  T operator()(int64_t i, T fallback) const { return p ? p[i] : fallback; }
};

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
    const Param<T> g(gamma), b(beta);
    const Matrix m = as_matrix(x.shape, 1);
    const int64_t C = m.cols;
    const T* xp = x.data<T>();
    // Two passes (mean, then squared deviations from it) rather than
    // E[x^2] - E[x]^2, which cancels catastrophically when |mean| >> std.
    std::vector<double> mean = column_sums<1>(m.rows, C, [&](int64_t r0, int64_t r1, double* acc) {
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t c = 0; c < C; ++c) acc[c] += xp[r * C + c];
    });
    for (double& v : mean) v /= double(m.rows);  // an empty batch gives NaN, as numpy and TF do
    std::vector<double> var = column_sums<1>(m.rows, C, [&](int64_t r0, int64_t r1, double* acc) {
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t c = 0; c < C; ++c) {
          const double d = xp[r * C + c] - mean[c];
          acc[c] += d * d;
        }
    });
    for (double& v : var) v /= double(m.rows);
    // y = (x - mean) * scale + beta, scale = gamma / sqrt(var + eps)
    std::vector<T> mu(C), scale(C), shift(C);
    for (int64_t c = 0; c < C; ++c) {
      mu[c] = T(mean[c]);
      scale[c] = T(g(c, T(1)) / std::sqrt(var[c] + epsilon));
      shift[c] = b(c, T(0));
    }
    Tensor y = Tensor::empty(x.shape, x.dtype);
    T* yp = y.data<T>();
    for_rows(m, [&](int64_t r) {
      for (int64_t c = 0; c < C; ++c) yp[r * C + c] = (xp[r * C + c] - mu[c]) * scale[c] + shift[c];
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
    const Param<T> g(gamma), mean(&mean_), var(&var_);
    const Matrix m = as_matrix(x.shape, 1);
    const int64_t C = m.cols;
    const T *xp = x.data<T>(), *gp = dy.data<T>();
    // dbeta = sum(dy), dgamma = sum(dy * xhat) = rstd * sum(dy * (x - mean))
    std::vector<double> s = column_sums<2>(m.rows, C, [&](int64_t r0, int64_t r1, double* acc) {
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t c = 0; c < C; ++c) {
          const double d = gp[r * C + c];
          acc[c] += d;
          acc[C + c] += d * (double(xp[r * C + c]) - mean.p[c]);
        }
    });
    // dx = gamma rstd (dy - mean(dy) - xhat mean(dy xhat))
    //    = a (dy - b - (x - mean) k) with per-channel a, b, k below.
    const double N = double(m.rows);
    std::vector<double> dgamma(C), dbeta(C);
    std::vector<T> a(C), bb(C), k(C);
    for (int64_t c = 0; c < C; ++c) {
      const double rstd = 1.0 / std::sqrt(double(var.p[c]) + epsilon);
      dbeta[c] = s[c];
      dgamma[c] = s[C + c] * rstd;
      a[c] = T(g(c, T(1)) * rstd);
      bb[c] = T(dbeta[c] / N);
      k[c] = T(dgamma[c] * rstd / N);
    }
    Tensor dx = Tensor::empty(x.shape, x.dtype);
    T* dxp = dx.data<T>();
    for_rows(m, [&](int64_t r) {
      for (int64_t c = 0; c < C; ++c) {
        const int64_t i = r * C + c;
        dxp[i] = a[c] * (gp[i] - bb[c] - (xp[i] - mean.p[c]) * k[c]);
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
    const Param<T> g(gamma), b(beta), mean(&mean_), var(&var_);
    const Matrix m = as_matrix(x.shape, 1);
    const int64_t C = m.cols;
    std::vector<T> scale(C);
    for (int64_t c = 0; c < C; ++c) scale[c] = T(g(c, T(1)) / std::sqrt(double(var.p[c]) + epsilon));
    Tensor y = Tensor::empty(x.shape, x.dtype);
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    for_rows(m, [&](int64_t r) {
      for (int64_t c = 0; c < C; ++c) yp[r * C + c] = (xp[r * C + c] - mean.p[c]) * scale[c] + b(c, T(0));
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
    const Param<T> g(gamma), b(beta);
    const Matrix m = as_matrix(x.shape, axis_count);
    const int64_t D = m.cols;
    const Shape row_shape(x.shape.begin(), x.shape.end() - axis_count);
    Tensor y = Tensor::empty(x.shape, x.dtype), mean = Tensor::empty(row_shape, x.dtype),
           rstd = Tensor::empty(row_shape, x.dtype);
    const T* xp = x.data<T>();
    T *yp = y.data<T>(), *mp = mean.data<T>(), *rp = rstd.data<T>();
    for_rows(m, [&](int64_t r) {
      const T* xr = xp + r * D;
      double sum = 0, sq = 0;
      for (int64_t j = 0; j < D; ++j) sum += xr[j];
      const double mu = sum / double(D);  // two passes over the row, which is in cache
      for (int64_t j = 0; j < D; ++j) sq += (xr[j] - mu) * (xr[j] - mu);
      const double rs = 1.0 / std::sqrt(sq / double(D) + epsilon);
      mp[r] = T(mu);
      rp[r] = T(rs);
      const T mu_t = T(mu), rs_t = T(rs);
      for (int64_t j = 0; j < D; ++j) yp[r * D + j] = (xr[j] - mu_t) * rs_t * g(j, T(1)) + b(j, T(0));
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
    const Param<T> g(gamma), mean(&mean_), rstd(&rstd_);
    const Matrix m = as_matrix(x.shape, axis_count);
    const int64_t D = m.cols;
    Tensor dx = Tensor::empty(x.shape, x.dtype);
    const T *xp = x.data<T>(), *gp = dy.data<T>();
    T* dxp = dx.data<T>();
    // One pass over the rows: each row's dx, and the row's share of
    // dgamma = sum(dy * xhat) and dbeta = sum(dy) over rows.
    std::vector<double> s = column_sums<2>(m.rows, D, [&](int64_t r0, int64_t r1, double* acc) {
      for (int64_t r = r0; r < r1; ++r) {
        const T *xr = xp + r * D, *dyr = gp + r * D;
        const double mu = mean.p[r], rs = rstd.p[r];
        // dx = rstd (h - mean(h) - xhat mean(h xhat)) with h = dy * gamma
        double sh = 0, shx = 0;
        for (int64_t j = 0; j < D; ++j) {
          const double xhat = (xr[j] - mu) * rs, h = double(dyr[j]) * g(j, T(1));
          sh += h;
          shx += h * xhat;
          acc[j] += dyr[j] * xhat;
          acc[D + j] += dyr[j];
        }
        const double mh = sh / double(D), mhx = shx / double(D);
        for (int64_t j = 0; j < D; ++j) {
          const double xhat = (xr[j] - mu) * rs, h = double(dyr[j]) * g(j, T(1));
          dxp[r * D + j] = T(rs * (h - mh - xhat * mhx));
        }
      }
    });
    std::vector<double> dgamma(s.begin(), s.begin() + D), dbeta(s.begin() + D, s.end());
    return NormGrads{dx, vector_of<T>(dgamma, norm_shape), vector_of<T>(dbeta, norm_shape)};
  });
}

}  // namespace tt::kernels
