// GEMM entry point: argument checks, the strategy for a shape (which operands
// to pack, how many threads), and the split of C between threads. The blocked
// kernels themselves are in gemm_blocked.h, built once per ISA.
#include "gemm.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "../core/cpu.h"
#include "../core/parallel.h"
#include "gemm_impl.h"

namespace tt::kernels {

namespace gemm_detail {

void act_inplace(Act act, float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = act_forward(act, x[i]);
}
void act_inplace(Act act, double* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = act_forward(act, x[i]);
}

namespace {

const IsaKernels& kernels_for(Isa isa) {
  switch (isa) {
    case Isa::avx512: return kernels_avx512();
    case Isa::avx2: return kernels_avx2();
    default: return kernels_generic();
  }
}

template <typename T> const Blocking& blocking_of(const IsaKernels& k);
template <> const Blocking& blocking_of<float>(const IsaKernels& k) { return k.f32; }
template <> const Blocking& blocking_of<double>(const IsaKernels& k) { return k.f64; }
template <typename T> BlockFn<T> block_fn(const IsaKernels& k);
template <> BlockFn<float> block_fn<float>(const IsaKernels& k) { return k.block_f32; }
template <> BlockFn<double> block_fn<double>(const IsaKernels& k) { return k.block_f64; }

// Pack buffers: one per thread, grown on demand and kept, so the steady state
// allocates nothing.
template <typename T>
Workspace<T> thread_workspace(const Blocking& bl, bool pack_a) {
  struct Buffer {
    void* p = nullptr;
    size_t bytes = 0;
    ~Buffer() { std::free(p); }
  };
  thread_local Buffer buf;
  auto round64 = [](size_t n) { return (n + 63) / 64 * 64; };
  const size_t a_bytes = pack_a ? round64(size_t(bl.mc * bl.kc) * sizeof(T)) : 0;
  const size_t need = a_bytes + round64(size_t(bl.kc * bl.nc) * sizeof(T));
  if (buf.bytes < need) {
    std::free(buf.p);
    buf.p = std::aligned_alloc(64, need);
    buf.bytes = buf.p ? need : 0;
    if (!buf.p) throw memory_error("gemm: cannot allocate " + std::to_string(need) + " bytes of pack buffers");
  }
  char* base = static_cast<char*>(buf.p);
  return {pack_a ? reinterpret_cast<T*>(base) : nullptr, reinterpret_cast<T*>(base + a_bytes)};
}

bool in_parallel_region() {
#ifdef _OPENMP
  return omp_in_parallel();
#else
  return false;
#endif
}

// Split [0, n) into `parts` ranges on multiples of `step`; returns range p.
std::pair<int64_t, int64_t> split_range(int64_t n, int64_t step, int64_t parts, int64_t p) {
  const int64_t units = (n + step - 1) / step;
  const int64_t u0 = units * p / parts, u1 = units * (p + 1) / parts;
  return {std::min(n, u0 * step), std::min(n, u1 * step)};
}

// Time-like cost of the largest part when n is split in `parts` on multiples of step.
double split_balance(int64_t n, int64_t step, int64_t parts) {
  int64_t worst = 0;
  for (int64_t p = 0; p < parts; ++p) {
    auto [b, e] = split_range(n, step, parts, p);
    worst = std::max(worst, e - b);
  }
  return double(n) / double(parts * std::max<int64_t>(worst, 1));
}

}  // namespace
}  // namespace gemm_detail

template <typename T>
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B,
          int64_t ldb, T beta, T* C, int64_t ldc, const T* bias, Act act) {
  using namespace gemm_detail;
  TT_CHECK(M >= 0 && N >= 0 && K >= 0, "gemm: negative size M=", M, " N=", N, " K=", K);
  TT_CHECK(lda >= std::max<int64_t>(1, ta ? M : K) && ldb >= std::max<int64_t>(1, tb ? K : N) &&
               ldc >= std::max<int64_t>(1, N),
           "gemm: leading dimension too small for M=", M, " N=", N, " K=", K, " trans_a=", ta, " trans_b=", tb,
           " (lda=", lda, " ldb=", ldb, " ldc=", ldc, ")");
  TT_CHECK(int(act) >= 0 && int(act) <= int(Act::tanh), "gemm: unknown activation ", int(act));
  if (M == 0 || N == 0) return;
  TT_CHECK(C && (K == 0 || (A && B)), "gemm: null data pointer");

  const IsaKernels& ks = kernels_for(isa());
  const Blocking& bl = blocking_of<T>(ks);
  Problem<T> p{ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, act, false, false};
  // Packing B costs K*N copies and saves strided loads in each of the M/mr
  // row strips that reuse it; packing A costs M*K copies for N/nr reuses.
  // B^T must be packed (the micro-kernel loads vectors along N).
  p.pack_b = tb || (M >= 256 && N >= 256 && K >= 64);
  p.pack_a = ta && N >= 256 && M >= 256 && K >= 64;
  if (const char* e = std::getenv("TINYTF_GEMM_PACK")) {  // TEMP: tuning
    p.pack_a = ta && std::strchr(e, 'a') != nullptr;
    p.pack_b = tb || std::strchr(e, 'b') != nullptr;
  }

  // Threads: only when each gets enough work to pay for waking it, and the
  // split (rows or columns of C, on tile boundaries) is the more balanced one.
  const double work = double(M) * double(N) * double(std::max<int64_t>(K, 1));
  int64_t parts = in_parallel_region() ? 1 : std::min<int64_t>(num_threads(), int64_t(work / 65536.0));
  parts = std::max<int64_t>(parts, 1);
  const BlockFn<T> fn = block_fn<T>(ks);
  if (parts == 1) {
    fn(p, 0, M, 0, N, thread_workspace<T>(bl, p.pack_a));
    return;
  }
  const bool split_m = split_balance(M, bl.mr, parts) >= split_balance(N, bl.nr, parts);
  parallel_for(0, parts, 1, [&](int64_t b, int64_t e) {
    const Workspace<T> ws = thread_workspace<T>(bl, p.pack_a);
    for (int64_t i = b; i < e; ++i) {
      auto [r0, r1] = split_range(split_m ? M : N, split_m ? bl.mr : bl.nr, parts, i);
      if (r0 < r1) split_m ? fn(p, r0, r1, 0, N, ws) : fn(p, 0, M, r0, r1, ws);
    }
  });
}

double fma_peak_gflops(bool f64) {
  using namespace gemm_detail;
  const IsaKernels& ks = kernels_for(isa());
  double (*probe)(int64_t) = f64 ? ks.fma_probe_f64 : ks.fma_probe_f32;
  // Many short runs, best one: on a shared machine the best run is the one
  // that had the cores to itself.
  const int64_t w = f64 ? ks.w64 : ks.w32, iters = 1 << 17, threads = num_threads();
  std::vector<double> sink(size_t(threads), 0.0);
  double best = 0;
  for (int rep = 0; rep < 40; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    parallel_for(0, threads, 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) sink[size_t(i)] += probe(iters);
    });
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, 32.0 * double(w * iters * threads) / dt * 1e-9);
  }
  return sink[0] == 12345.0 ? 0.0 : best;  // reads the sink
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
