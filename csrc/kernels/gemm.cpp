// Reference GEMM: correct for every flag and stride, simply blocked.
// (The tuned BLIS-style kernels replace the inner part; the interface stays.)
#include "gemm.h"

#include <algorithm>
#include <vector>

#include "../core/parallel.h"

namespace tt::kernels {

template <typename T>
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B,
          int64_t ldb, T beta, T* C, int64_t ldc, const T* bias, Act act) {
  TT_CHECK(M >= 0 && N >= 0 && K >= 0, "gemm: negative size M=", M, " N=", N, " K=", K);
  TT_CHECK(lda >= std::max<int64_t>(1, ta ? M : K) && ldb >= std::max<int64_t>(1, tb ? K : N) &&
               ldc >= std::max<int64_t>(1, N),
           "gemm: leading dimension too small (lda=", lda, " ldb=", ldb, " ldc=", ldc, ")");
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, N * std::max<int64_t>(K, 1)));
  parallel_for(0, M, grain, [&](int64_t i0, int64_t i1) {
    std::vector<T> acc(static_cast<size_t>(N));
    for (int64_t i = i0; i < i1; ++i) {
      std::fill(acc.begin(), acc.end(), T(0));
      for (int64_t k = 0; k < K; ++k) {
        const T a = ta ? A[k * lda + i] : A[i * lda + k];
        if (tb) for (int64_t j = 0; j < N; ++j) acc[j] += a * B[j * ldb + k];
        else for (int64_t j = 0; j < N; ++j) acc[j] += a * B[k * ldb + j];
      }
      T* c = C + i * ldc;
      for (int64_t j = 0; j < N; ++j) {
        T v = alpha * acc[j] + (beta == T(0) ? T(0) : beta * c[j]);
        if (bias) v += bias[j];
        c[j] = act_forward(act, v);
      }
    }
  });
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t,
                          float, float*, int64_t, const float*, Act);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t, const double*,
                           int64_t, double, double*, int64_t, const double*, Act);

namespace {

// A matrix operand as (data, row stride, transposed?) without copying when its
// last two dims are row-major or column-major; otherwise a contiguous copy.
struct MatView {
  Tensor t;  // keeps the data alive
  int64_t ld;
  bool trans;
};

MatView as_matrix(const Tensor& x, bool trans) {
  const int n = x.ndim();
  const int64_t rs = x.strides[n - 2], cs = x.strides[n - 1];
  const int64_t rows = x.shape[n - 2], cols = x.shape[n - 1];
  if ((cs == 1 || cols == 1) && rs >= std::max<int64_t>(cols, 1)) return {x, rs, trans};
  if ((rs == 1 || rows == 1) && cs >= std::max<int64_t>(rows, 1)) return {x, cs, !trans};
  Tensor c = x.contiguous();
  return {c, std::max<int64_t>(cols, 1), trans};
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  TT_CHECK(a.ndim() >= 2 && b.ndim() >= 2, "matmul: both operands need rank >= 2, got shapes ", a.shape, " and ",
           b.shape);
  TT_TYPE_CHECK(a.dtype == b.dtype, "matmul: dtype mismatch ", dtype_name(a.dtype), " vs ", dtype_name(b.dtype));
  const int na = a.ndim(), nb = b.ndim();
  const int64_t M = ta ? a.shape[na - 1] : a.shape[na - 2], K = ta ? a.shape[na - 2] : a.shape[na - 1];
  const int64_t K2 = tb ? b.shape[nb - 1] : b.shape[nb - 2], N = tb ? b.shape[nb - 2] : b.shape[nb - 1];
  TT_CHECK(K == K2, "matmul: inner dimensions differ: shapes ", a.shape, " and ", b.shape,
           (ta || tb) ? " (after transposition)" : "");
  Shape batch = broadcast_shapes(Shape(a.shape.begin(), a.shape.end() - 2), Shape(b.shape.begin(), b.shape.end() - 2),
                                 "matmul");
  Shape out_shape = batch;
  out_shape.push_back(M);
  out_shape.push_back(N);
  Tensor out = Tensor::empty(out_shape, a.dtype);
  int64_t nbatch = 1;
  for (int64_t d : batch) nbatch *= d;
  TT_DISPATCH_FLOAT(a.dtype, "matmul", [&](auto tag) {
    using T = decltype(tag);
    // Batch offsets of each operand, broadcasting size-1 dims.
    auto offsets = [&](const Tensor& x) {
      std::vector<int64_t> off(size_t(nbatch), 0);
      const int nx = x.ndim() - 2, shift = int(batch.size()) - nx;
      for (int64_t i = 0; i < nbatch; ++i) {
        int64_t r = i, o = 0;
        for (int d = int(batch.size()) - 1; d >= 0; --d) {
          const int64_t idx = r % batch[d];
          r /= batch[d];
          if (d >= shift && x.shape[d - shift] != 1) o += idx * x.strides[d - shift];
        }
        off[i] = o;
      }
      return off;
    };
    MatView va = as_matrix(a, ta), vb = as_matrix(b, tb);
    // as_matrix may have copied: batch strides must come from the tensor it kept.
    auto oa = offsets(va.t), ob = offsets(vb.t);
    for (int64_t i = 0; i < nbatch; ++i)
      gemm<T>(va.trans, vb.trans, M, N, K, T(1), va.t.template data<T>() + oa[i], va.ld, vb.t.template data<T>() + ob[i],
              vb.ld, T(0), out.data<T>() + i * M * N, std::max<int64_t>(N, 1));
  });
  return out;
}

Tensor dense_forward(const Tensor& x, const Tensor& w, const Tensor* bias, Act act) {
  TT_CHECK(x.ndim() >= 1 && w.ndim() == 2, "dense: expected input of rank >= 1 and a rank-2 kernel, got ", x.shape,
           " and ", w.shape);
  const int64_t K = w.shape[0], N = w.shape[1];
  TT_CHECK(x.shape.back() == K, "dense: input last dimension ", x.shape.back(), " does not match kernel shape ",
           w.shape, " (input shape ", x.shape, ")");
  TT_TYPE_CHECK(x.dtype == w.dtype, "dense: dtype mismatch ", dtype_name(x.dtype), " vs ", dtype_name(w.dtype));
  if (bias) {
    TT_CHECK(bias->ndim() == 1 && bias->shape[0] == N, "dense: bias shape ", bias->shape, " does not match ", N,
             " units");
    TT_TYPE_CHECK(bias->dtype == x.dtype, "dense: bias dtype ", dtype_name(bias->dtype), " differs from input ",
                  dtype_name(x.dtype));
  }
  Tensor xc = x.contiguous(), wc = w.contiguous();
  Tensor bc = bias ? bias->contiguous() : Tensor();
  const int64_t M = K ? xc.numel() / K : [&] { int64_t m = 1; for (size_t i = 0; i + 1 < x.shape.size(); ++i) m *= x.shape[i]; return m; }();
  Shape out_shape = x.shape;
  out_shape.back() = N;
  Tensor y = Tensor::empty(out_shape, x.dtype);
  TT_DISPATCH_FLOAT(x.dtype, "dense", [&](auto tag) {
    using T = decltype(tag);
    gemm<T>(false, false, M, N, K, T(1), xc.data<T>(), std::max<int64_t>(K, 1), wc.data<T>(), std::max<int64_t>(N, 1),
            T(0), y.data<T>(), std::max<int64_t>(N, 1), bias ? bc.data<T>() : nullptr, act);
  });
  return y;
}

DenseGrads dense_backward(const Tensor& x, const Tensor& w, const Tensor& y, const Tensor& dy, Act act, bool need_dx,
                          bool need_db) {
  TT_CHECK(dy.shape == y.shape, "dense backward: gradient shape ", dy.shape, " differs from output shape ", y.shape);
  const int64_t K = w.shape[0], N = w.shape[1];
  TT_CHECK(x.shape.back() == K && y.shape.back() == N, "dense backward: shapes x ", x.shape, " w ", w.shape, " y ",
           y.shape, " do not match");
  Tensor xc = x.contiguous(), wc = w.contiguous(), yc = y.contiguous(), g = dy.contiguous();
  const int64_t M = N ? yc.numel() / N : 0;
  DenseGrads r;
  TT_DISPATCH_FLOAT(x.dtype, "dense backward", [&](auto tag) {
    using T = decltype(tag);
    if (act != Act::none) {
      Tensor gg = Tensor::empty(g.shape, g.dtype);
      act_backward<T>(act, yc.data<T>(), g.data<T>(), gg.data<T>(), g.numel());
      g = gg;
    }
    r.dw = Tensor::empty(w.shape, w.dtype);
    gemm<T>(true, false, K, N, M, T(1), xc.data<T>(), std::max<int64_t>(K, 1), g.data<T>(), std::max<int64_t>(N, 1),
            T(0), r.dw.data<T>(), std::max<int64_t>(N, 1));
    if (need_db) {
      r.db = Tensor::zeros({N}, w.dtype);
      T* db = r.db.data<T>();
      const T* gp = g.data<T>();
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) db[j] += gp[i * N + j];
    }
    if (need_dx) {
      r.dx = Tensor::empty(x.shape, x.dtype);
      gemm<T>(false, true, M, K, N, T(1), g.data<T>(), std::max<int64_t>(N, 1), wc.data<T>(), std::max<int64_t>(N, 1),
              T(0), r.dx.data<T>(), std::max<int64_t>(K, 1));
    }
  });
  return r;
}

}  // namespace tt::kernels
