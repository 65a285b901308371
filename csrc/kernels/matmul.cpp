// Tensor-level GEMM ops: batched matmul with broadcasting, and the fused
// Dense forward/backward. They turn tensors into (pointer, leading dim,
// transposed?) operands without copying where the layout allows, check every
// shape, and call gemm<T>().
#include <algorithm>
#include <vector>

#include "../core/parallel.h"
#include "gemm.h"

namespace tt::kernels {
namespace {

// The last two dims of x as a matrix operand (tensor, leading dim,
// transposed?): x itself when they are row-major or column-major with
// non-overlapping rows, otherwise a contiguous copy made into `copy`.
struct Operand {
  const Tensor* t;  // batch strides come from this tensor
  int64_t ld;
  bool trans;
};

Operand as_matrix(const Tensor& x, bool trans, Tensor& copy) {
  const int n = x.ndim();
  const int64_t rows = x.shape[n - 2], cols = x.shape[n - 1];
  const int64_t rs = x.strides[n - 2], cs = x.strides[n - 1];
  if ((cs == 1 || cols <= 1) && (rs >= std::max<int64_t>(cols, 1) || rows <= 1))
    return {&x, rows <= 1 ? std::max<int64_t>(cols, 1) : rs, trans};
  if ((rs == 1 || rows <= 1) && (cs >= std::max<int64_t>(rows, 1) || cols <= 1))
    return {&x, cols <= 1 ? std::max<int64_t>(rows, 1) : cs, !trans};
  copy = x.contiguous();
  return {&copy, std::max<int64_t>(cols, 1), trans};
}

// Element offset of each broadcast batch entry of x (dims of size 1 repeat).
std::vector<int64_t> batch_offsets(const Tensor& x, const Shape& batch, int64_t nbatch) {
  std::vector<int64_t> off(size_t(nbatch), 0);
  const int nx = x.ndim() - 2, shift = int(batch.size()) - nx;
  for (int64_t i = 0; i < nbatch; ++i) {
    int64_t r = i, o = 0;
    for (int d = int(batch.size()) - 1; d >= 0; --d) {
      const int64_t idx = r % batch[d];
      r /= batch[d];
      if (d >= shift && x.shape[d - shift] != 1) o += idx * x.strides[d - shift];
    }
    off[size_t(i)] = o;
  }
  return off;
}

// x[..., K] as one (rows, K) matrix with row stride ld: x itself when it is
// contiguous or 2-D with contiguous rows, otherwise a copy made into `copy`.
struct Rows {
  const Tensor* t;
  int64_t rows, ld;
};

Rows as_rows(const Tensor& x, Tensor& copy) {
  const int n = x.ndim();
  const int64_t K = x.shape[n - 1];
  int64_t rows = 1;
  for (int i = 0; i + 1 < n; ++i) rows *= x.shape[i];
  if (n == 2 && (x.strides[1] == 1 || K <= 1) && (x.strides[0] >= std::max<int64_t>(K, 1) || rows <= 1))
    return {&x, rows, rows <= 1 ? std::max<int64_t>(K, 1) : x.strides[0]};
  if (!x.is_contiguous()) {
    copy = x.contiguous();
    return {&copy, rows, std::max<int64_t>(K, 1)};
  }
  return {&x, rows, std::max<int64_t>(K, 1)};
}

void check_act(Act act, const char* op) {
  TT_CHECK(int(act) >= int(Act::none) && int(act) <= int(Act::tanh), op, ": unknown activation ", int(act));
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
  const Shape batch = broadcast_shapes(Shape(a.shape.begin(), a.shape.end() - 2),
                                       Shape(b.shape.begin(), b.shape.end() - 2), "matmul");
  Shape out_shape;
  out_shape.reserve(batch.size() + 2);
  out_shape.insert(out_shape.end(), batch.begin(), batch.end());
  out_shape.push_back(M);
  out_shape.push_back(N);
  Tensor out = Tensor::empty(std::move(out_shape), a.dtype);
  const int64_t nbatch = out.numel() == 0 ? 0 : out.numel() / (M * N);
  if (nbatch == 0) return out;
  Tensor a_copy, b_copy;
  const Operand va = as_matrix(a, ta, a_copy), vb = as_matrix(b, tb, b_copy);
  TT_DISPATCH_FLOAT(a.dtype, "matmul", [&](auto tag) {
    using T = decltype(tag);
    const T* pa = va.t->template data<T>();
    const T* pb = vb.t->template data<T>();
    T* pc = out.data<T>();
    const int64_t ldc = std::max<int64_t>(N, 1);
    // One product, or [..., M, K] row-major and contiguous against one shared
    // matrix: a single GEMM over all rows (as Dense does).
    if (nbatch == 1 || (nb == 2 && !va.trans && va.t->is_contiguous() && va.ld == std::max<int64_t>(K, 1))) {
      gemm<T>(va.trans, vb.trans, nbatch * M, N, K, T(1), pa, va.ld, pb, vb.ld, T(0), pc, ldc);
      return;
    }
    const std::vector<int64_t> oa = batch_offsets(*va.t, batch, nbatch), ob = batch_offsets(*vb.t, batch, nbatch);
    auto one = [&](int64_t i) {
      gemm<T>(va.trans, vb.trans, M, N, K, T(1), pa + oa[size_t(i)], va.ld, pb + ob[size_t(i)], vb.ld, T(0),
              pc + i * M * N, ldc);
    };
    // Small products: one thread per group of whole products (each gemm then
    // runs serially inside the region). Big ones: threads inside each gemm.
    const double work = double(M) * double(N) * double(std::max<int64_t>(K, 1));
    if (work < kGemmMinWorkPerThread * num_threads()) {
      const int64_t grain = std::max<int64_t>(1, int64_t(kGemmMinWorkPerThread / std::max(work, 1.0)));
      parallel_for(0, nbatch, grain, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) one(i);
      });
    } else {
      for (int64_t i = 0; i < nbatch; ++i) one(i);
    }
  });
  return out;
}

Tensor dense_forward(const Tensor& x, const Tensor& w, const Tensor* bias, Act act) {
  check_act(act, "dense");
  TT_CHECK(x.ndim() >= 1 && w.ndim() == 2, "dense: expected input of rank >= 1 and a rank-2 kernel, got input ",
           x.shape, " and kernel ", w.shape);
  const int64_t K = w.shape[0], N = w.shape[1];
  TT_CHECK(x.shape.back() == K, "dense: input last dimension ", x.shape.back(), " does not match kernel shape ",
           w.shape, " (input shape ", x.shape, ")");
  TT_TYPE_CHECK(x.dtype == w.dtype, "dense: dtype mismatch: input ", dtype_name(x.dtype), ", kernel ",
                dtype_name(w.dtype));
  if (bias) {
    TT_CHECK(bias->ndim() == 1 && bias->shape[0] == N, "dense: bias shape ", bias->shape, " does not match ", N,
             " units (kernel ", w.shape, ")");
    TT_TYPE_CHECK(bias->dtype == x.dtype, "dense: bias dtype ", dtype_name(bias->dtype), " differs from input ",
                  dtype_name(x.dtype));
  }
  Tensor x_copy, w_copy, b_copy;
  const Rows xr = as_rows(x, x_copy);
  const Operand wv = as_matrix(w, false, w_copy);
  if (bias && !(bias->strides[0] == 1 || N <= 1)) b_copy = bias->contiguous();
  const Tensor* bc = b_copy.storage ? &b_copy : bias;
  Shape out_shape = x.shape;
  out_shape.back() = N;
  Tensor y = Tensor::empty(out_shape, x.dtype);
  if (y.numel() == 0) return y;
  TT_DISPATCH_FLOAT(x.dtype, "dense", [&](auto tag) {
    using T = decltype(tag);
    gemm<T>(false, wv.trans, xr.rows, N, K, T(1), xr.t->template data<T>(), xr.ld, wv.t->template data<T>(), wv.ld,
            T(0), y.data<T>(), std::max<int64_t>(N, 1), bias ? bc->template data<T>() : nullptr, act);
  });
  return y;
}

namespace {

// g = dy * act'(y) over rows [r0, r1) of (rows x n) matrices (g, dy, y
// contiguous), and the column sums of those rows into colsum (n values).
template <typename T>
void act_grad_rows(Act act, const T* y, const T* dy, T* g, int64_t r0, int64_t r1, int64_t n, T* colsum) {
  for (int64_t j = 0; j < n && colsum; ++j) colsum[j] = T(0);
  for (int64_t i = r0; i < r1; ++i) {
    const T* yr = y + i * n;
    const T* dr = dy + i * n;
    T* gr = g + i * n;
    if (act != Act::none) act_backward<T>(act, yr, dr, gr, n);
    if (colsum)
      for (int64_t j = 0; j < n; ++j) colsum[j] += gr[j];
  }
}

}  // namespace

DenseGrads dense_backward(const Tensor& x, const Tensor& w, const Tensor& y, const Tensor& dy, Act act, bool need_dx,
                          bool need_db) {
  check_act(act, "dense backward");
  TT_CHECK(x.ndim() >= 1 && w.ndim() == 2, "dense backward: expected input of rank >= 1 and a rank-2 kernel, got ",
           x.shape, " and ", w.shape);
  const int64_t K = w.shape[0], N = w.shape[1];
  Shape y_shape = x.shape;
  y_shape.back() = N;
  TT_CHECK(x.shape.back() == K && y.shape == y_shape && dy.shape == y_shape, "dense backward: shapes do not match: x ",
           x.shape, ", kernel ", w.shape, ", y ", y.shape, ", dy ", dy.shape, " (expected y and dy of shape ", y_shape,
           ")");
  TT_TYPE_CHECK(x.dtype == w.dtype && y.dtype == x.dtype && dy.dtype == x.dtype,
                "dense backward: dtypes differ: x ", dtype_name(x.dtype), ", kernel ", dtype_name(w.dtype), ", y ",
                dtype_name(y.dtype), ", dy ", dtype_name(dy.dtype));
  Tensor x_copy, w_copy;
  const Rows xr = as_rows(x, x_copy);
  const int64_t M = xr.rows;
  const Operand wv = as_matrix(w, false, w_copy);
  DenseGrads r;
  r.dw = Tensor::empty(w.shape, w.dtype);
  if (need_db) r.db = Tensor::empty({N}, w.dtype);
  if (need_dx) r.dx = Tensor::empty(x.shape, x.dtype);
  TT_DISPATCH_FLOAT(x.dtype, "dense backward", [&](auto tag) {
    using T = decltype(tag);
    // g = dy * act'(y), written once; db = its column sums. Rows go in fixed
    // blocks whose partial sums are added in block order, so db has the same
    // bits for any thread count.
    constexpr int64_t kRowBlock = 256;
    const Tensor dyc = dy.contiguous();
    Tensor g = dyc;
    if (act != Act::none) g = Tensor::empty(y_shape, y.dtype);
    const Tensor yc = act != Act::none ? y.contiguous() : y;
    const int64_t nblocks = (M + kRowBlock - 1) / kRowBlock;
    std::vector<T> partial(need_db ? size_t(nblocks * N) : 0);
    if (act != Act::none || need_db) {
      parallel_for(0, nblocks, std::max<int64_t>(1, int64_t(65536 / std::max<int64_t>(kRowBlock * N, 1))),
                   [&](int64_t b0, int64_t b1) {
                     for (int64_t bi = b0; bi < b1; ++bi)
                       act_grad_rows<T>(act, yc.template data<T>(), dyc.template data<T>(), g.template data<T>(),
                                        bi * kRowBlock, std::min(M, (bi + 1) * kRowBlock), N,
                                        need_db ? partial.data() + bi * N : nullptr);
                   });
    }
    if (need_db) {
      T* db = r.db.template data<T>();
      std::fill(db, db + N, T(0));
      for (int64_t bi = 0; bi < nblocks; ++bi)
        for (int64_t j = 0; j < N; ++j) db[j] += partial[size_t(bi * N + j)];
    }
    const T* gp = g.template data<T>();
    const int64_t ldg = std::max<int64_t>(N, 1);
    // dw[K, N] = x^T g, dx[M, K] = g w^T.
    if (K > 0 && N > 0)
      gemm<T>(true, false, K, N, M, T(1), xr.t->template data<T>(), xr.ld, gp, ldg, T(0), r.dw.template data<T>(),
              ldg);
    if (need_dx && M > 0 && K > 0)
      gemm<T>(false, !wv.trans, M, K, N, T(1), gp, ldg, wv.t->template data<T>(), wv.ld, T(0),
              r.dx.template data<T>(), std::max<int64_t>(K, 1));
  });
  return r;
}

}  // namespace tt::kernels
