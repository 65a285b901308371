#include "conv.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "../core/cpu.h"
#include "../core/parallel.h"
#include "conv_kernels.h"
#include "gemm.h"
#include "pool.h"

namespace tt::kernels {

Axis window_axis(int64_t in, int64_t k, int64_t stride, int64_t dilation, Padding::Kind kind, int64_t pad_before,
                 int64_t pad_after) {
  const int64_t span = (k - 1) * dilation + 1;
  if (kind == Padding::same) {
    const int64_t out = (in + stride - 1) / stride;
    const int64_t total = std::max<int64_t>((out - 1) * stride + span - in, 0);
    return {out, total / 2, total - total / 2};
  }
  if (kind == Padding::valid) pad_before = pad_after = 0;
  const int64_t padded = in + pad_before + pad_after;
  return {padded >= span ? (padded - span) / stride + 1 : 0, pad_before, pad_after};
}

const char* padding_name(const Padding& p) {
  return p.kind == Padding::same ? "SAME" : p.kind == Padding::valid ? "VALID" : "explicit";
}

ConvGeom conv_geometry(const char* op, const Shape& in, const Shape& f, Hw s, Hw d, const Padding& pad) {
  TT_CHECK(in.size() == 4, op, ": expected an input of rank 4 (batch, height, width, channels), got shape ", in);
  TT_CHECK(f.size() == 4, op, ": expected a filter of rank 4 (height, width, in_channels, out_channels), got shape ",
           f);
  for (int i = 0; i < 4; ++i)
    TT_CHECK(in[size_t(i)] >= 0 && f[size_t(i)] >= 0, op, ": negative dimension in input ", in, " or filter ", f);
  TT_CHECK(in[3] == f[2], op, ": input has ", in[3], " channels but the filter expects ", f[2], " (input ", in,
           ", filter ", f, ")");
  TT_CHECK(f[0] >= 1 && f[1] >= 1, op, ": filter height and width must be positive, got filter ", f);
  TT_CHECK(s[0] >= 1 && s[1] >= 1, op, ": strides must be positive, got ", Shape{s[0], s[1]});
  TT_CHECK(d[0] >= 1 && d[1] >= 1, op, ": dilations must be positive, got ", Shape{d[0], d[1]});
  TT_CHECK(pad.kind != Padding::explicit_ || (pad.top >= 0 && pad.bottom >= 0 && pad.left >= 0 && pad.right >= 0),
           op, ": explicit padding must be non-negative, got [[", pad.top, ", ", pad.bottom, "], [", pad.left, ", ",
           pad.right, "]]");
  const Axis h = window_axis(in[1], f[0], s[0], d[0], pad.kind, pad.top, pad.bottom);
  const Axis w = window_axis(in[2], f[1], s[1], d[1], pad.kind, pad.left, pad.right);
  TT_CHECK(h.out > 0 && w.out > 0, op, ": the output would be empty (", h.out, " x ", w.out, ") for input ", in,
           " and filter ", f, " with ", padding_name(pad), " padding, strides ", Shape{s[0], s[1]},
           " and dilations ", Shape{d[0], d[1]});
  return {in[0], in[1], in[2], in[3], f[0], f[1], f[3], h.out, w.out, s[0], s[1], d[0], d[1],
          h.pad_before, h.pad_after, w.pad_before, w.pad_after};
}

template <typename T>
void convk::act_inplace(Act act, T* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = act_forward(act, x[i]);
}
template void convk::act_inplace<float>(Act, float*, int64_t);
template void convk::act_inplace<double>(Act, double*, int64_t);

namespace {

// Backward passes split the batch into this many groups of whole images
// (fewer for small batches): each group sums its own partial filter and bias
// gradients, then the partials are added in group order, so the result does
// not depend on the thread count. Whole images also keep the col2im scatter
// of one image on one thread.
constexpr int64_t kGroups = 8;
constexpr int64_t kBlockBytes = 384 << 10;  // an im2col block stays in L2 while gemm reads it

struct Split {
  int64_t rows, blocks;
};

// `total` items in blocks of about `target`, the block count rounded up to a
// multiple of 8 so 2, 4 or 8 threads get equal shares.
Split split(int64_t total, int64_t target) {
  int64_t blocks = std::max<int64_t>(1, (total + target - 1) / target);
  if (blocks > 8) blocks = (blocks + 7) / 8 * 8;
  const int64_t rows = std::max<int64_t>(1, (total + blocks - 1) / blocks);
  return {rows, std::max<int64_t>(1, (total + rows - 1) / rows)};
}

int64_t image_groups(const ConvGeom& g) { return std::min(g.N, kGroups); }

// Groups per thread at least, so that a thread gets ~256K multiply-adds
// (waking one costs microseconds): small problems stay on one thread.
// `passes` GEMM passes (K x O multiply-adds a pixel), and with `sums` the
// column sums of db (O adds a pixel).
int64_t group_grain(const ConvGeom& g, int64_t groups, int passes, bool sums = false) {
  const double per_pixel = double(g.K()) * double(g.O) * passes + (sums ? double(g.O) : 0.0);
  const double macs = double(g.pixels()) * per_pixel / double(std::max<int64_t>(groups, 1));
  return std::max<int64_t>(1, int64_t(std::ceil(256.0 * 1024 / std::max(macs, 1.0))));
}

// A 1x1 window with unit stride and no padding: the input already is the im2col matrix.
bool pointwise(const ConvGeom& g) {
  return g.KH == 1 && g.KW == 1 && g.sh == 1 && g.sw == 1 && g.pt == 0 && g.pb == 0 && g.pl == 0 && g.pr == 0;
}

template <typename T>
T* scratch(Tensor& t, int64_t n) {
  t = Tensor::empty({std::max<int64_t>(n, 1)}, dtype_of<T>::value);
  return t.data<T>();
}

// g = dy * act'(y) for pixels p0..p1 (dy itself when there is no activation).
template <typename T>
const T* grad_rows(const ConvGeom& g, const T* y, const T* dy, Act act, int64_t p0, int64_t p1, T* buf) {
  if (act == Act::none) return dy + p0 * g.O;
  act_backward<T>(act, y + p0 * g.O, dy + p0 * g.O, buf, (p1 - p0) * g.O);
  return buf;
}

// out[i] += sum over the `parts` arrays (each `n` long, `stride` apart) in order.
template <typename T>
void add_parts(T* out, const T* parts, int64_t nparts, int64_t stride, int64_t n) {
  if (nparts <= 0) return;
  parallel_for(0, n, 16384, [&](int64_t i0, int64_t i1) {
    for (int64_t p = 0; p < nparts; ++p) {
      const T* s = parts + p * stride;
      for (int64_t i = i0; i < i1; ++i) out[i] += s[i];
    }
  });
}

// The kernels of conv_kernels.h for the ISA in use: float32 per ISA; float64
// (gradient checks) runs the portable build on every CPU.
template <typename T>
const convk::Kernels<T>& isa_kernels() {
  static const convk::Kernels<T> portable = convk::kernels_portable<T>();
#if defined(__x86_64__) || defined(_M_X64)
  if constexpr (std::is_same_v<T, float>) {
    // Each table is built on first use only: building one runs code compiled for its ISA.
    if (isa() == Isa::avx512) {
      static const convk::Kernels<T> avx512 = convk::kernels_avx512<T>();
      return avx512;
    }
    if (isa() == Isa::avx2) {
      static const convk::Kernels<T> avx2 = convk::kernels_avx2<T>();
      return avx2;
    }
  }
#endif
  return portable;
}

// ---- GEMM strategy ---------------------------------------------------------

template <typename T>
void forward_gemm(const ConvGeom& g, const T* x, const T* w, const T* bias, Act act, T* y) {
  const int64_t K = g.K(), ldk = std::max<int64_t>(K, 1), O = g.O, P = g.pixels();
  const ConvBlocking b = conv_blocking(g, sizeof(T));
  const bool pw = pointwise(g);
  const auto& kern = isa_kernels<T>();
  parallel_for(0, b.blocks, 1, [&](int64_t b0, int64_t b1) {
    Tensor keep;
    T* A = pw ? nullptr : scratch<T>(keep, b.rows * K);
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t p0 = blk * b.rows, p1 = std::min(P, p0 + b.rows);
      if (!pw) kern.im2col(g, x, p0, p1, A);
      gemm<T>(false, false, p1 - p0, O, K, T(1), pw ? x + p0 * K : A, ldk, w, O, T(0), y + p0 * O, O, bias, act);
    }
  });
}

template <typename T>
void backward_gemm(const ConvGeom& g, const T* x, const T* w, const T* y, const T* dy, Act act, T* dx, T* dw,
                   T* db) {
  const int64_t K = g.K(), ldk = std::max<int64_t>(K, 1), O = g.O, hw = g.OH * g.OW;
  const ConvBlocking b = conv_blocking(g, sizeof(T));
  const bool pw = pointwise(g);
  const auto& kern = isa_kernels<T>();
  // Group 0 sums straight into dw/db, groups 1.. into partial buffers.
  const int64_t part = K * O + O;
  Tensor parts_t;
  T* parts = dw || db ? scratch<T>(parts_t, (b.groups - 1) * part) : nullptr;
  parallel_for(0, b.groups, group_grain(g, b.groups, (dx ? 1 : 0) + (dw ? 1 : 0), db), [&](int64_t g0, int64_t g1) {
    // One im2col buffer: the block's windows for dw, then its columns of dx.
    Tensor keep_a, keep_g;
    T* A = pw ? nullptr : scratch<T>(keep_a, b.rows * K);
    T* gbuf = act == Act::none ? nullptr : scratch<T>(keep_g, b.rows * O);
    for (int64_t grp = g0; grp < g1; ++grp) {
      T* pdw = grp == 0 ? dw : parts + (grp - 1) * part;
      T* pdb = grp == 0 ? db : parts + (grp - 1) * part + K * O;
      if (db) std::fill_n(pdb, O, T(0));
      const int64_t n0 = g.N * grp / b.groups, n1 = g.N * (grp + 1) / b.groups;
      if (dx && !pw) std::fill_n(dx + n0 * g.H * g.W * g.C, (n1 - n0) * g.H * g.W * g.C, T(0));
      for (int64_t p0 = n0 * hw; p0 < n1 * hw; p0 += b.rows) {
        const int64_t p1 = std::min(n1 * hw, p0 + b.rows);
        const T* gr = grad_rows(g, y, dy, act, p0, p1, gbuf);
        if (dw) {
          if (!pw) kern.im2col(g, x, p0, p1, A);
          gemm<T>(true, false, K, O, p1 - p0, T(1), pw ? x + p0 * K : A, ldk, gr, O, p0 == n0 * hw ? T(0) : T(1),
                  pdw, O);
        }
        if (db) kern.add_column_sums(gr, p1 - p0, O, O, pdb);
        if (dx) {
          gemm<T>(false, true, p1 - p0, K, O, T(1), gr, O, w, O, T(0), pw ? dx + p0 * K : A, ldk);
          if (!pw) kern.col2im_add(g, A, p0, p1, dx);
        }
      }
    }
  });
  if (dw) add_parts(dw, parts, b.groups - 1, part, K * O);
  if (db) add_parts(db, parts + K * O, b.groups - 1, part, O);
}

// ---- Winograd strategy (float32 3x3, unit stride and dilation) -------------
// F(m x m, 3x3) (Lavin & Gray, 2016): an m x m output tile takes (m + 2)^2
// multiplies per channel pair from its transformed input patch, against 9 m^2
// for direct convolution (m = 2: 16 against 36; m = 4: 36 against 144). Per
// block of kWinoTiles tiles: the input transform, (m + 2)^2 GEMMs (tiles x C)
// x (C x O), one per patch position, and the output transform. Blocks have a
// fixed size, so the bits do not depend on the thread count. It serves the
// forward pass, the input gradient (a 3x3 convolution of g with the filter
// flipped and transposed) and the filter gradient (the transpose).
// float64 stays on the exact GEMM path (it is there for gradient checks).
constexpr int64_t kWinoTiles = 96;         // a multiple of every micro-kernel height
constexpr int64_t kWinoMinChannels = 32;  // below, the GEMMs (K = channels) are too thin to gain

// The Winograd tile side for a float32 3x3 convolution from C to O channels
// with an OH x OW output: 4, 2, or 0 where im2col is better. The GEMM work per
// output pixel, (m + 2)^2 per tile over the pixels the tiles really cover,
// decides: partial tiles at the edge cost as much as whole ones (the convnet's
// 11x11 output computes 12x12 pixels either way).
template <typename T>
int wino_tile(int64_t C, int64_t O, int64_t OH, int64_t OW) {
  if (!std::is_same_v<T, float> || C < kWinoMinChannels || O < kWinoMinChannels) return 0;
  auto work = [&](int64_t m) {
    return double((m + 2) * (m + 2) * ((OH + m - 1) / m) * ((OW + m - 1) / m)) / double(OH * OW);
  };
  if (work(4) <= 0.85 * work(2)) return 4;
  return work(2) <= 5 ? 2 : 0;  // tiles 80% filled
}
template <typename T>
int wino_tile(const ConvGeom& g, bool input_gradient) {
  const bool window = g.KH == 3 && g.KW == 3 && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1;
  if (!window) return 0;
  return input_gradient ? wino_tile<T>(g.O, g.C, g.H, g.W) : wino_tile<T>(g.C, g.O, g.OH, g.OW);
}

// out = K in K^T for n lanes at once (a run of channel pairs, so the loops
// vectorise), K an R x S matrix given as k(r, i): in[(S i + j) in_step + l]
// for i, j < S, out[(R r + c) out_step + l] for r, c < R.
constexpr int kRun = 64;
template <int R, int S, typename T, typename K>
void sandwich_run(const K& k, const T* in, int64_t in_step, T* out, int64_t out_step, int64_t n) {
  T t[R][S][kRun];  // K in
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < S; ++j)
      for (int64_t l = 0; l < n; ++l) {
        T sum = 0;
        for (int i = 0; i < S; ++i) sum += T(k(r, i)) * in[(S * i + j) * in_step + l];
        t[r][j][l] = sum;
      }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < R; ++c) {
      T* o = out + (R * r + c) * out_step;
      for (int64_t l = 0; l < n; ++l) {
        T sum = 0;
        for (int j = 0; j < S; ++j) sum += t[r][j][l] * T(k(c, j));
        o[l] = sum;
      }
    }
}

// U[xi][i][o] = (G f G^T)[xi] for the 3x3 filter f from input channel i to
// output channel o: f(kh, kw) = w[kh][kw][i][o], or with `flip` (the input
// gradient: channels swapped) w[2 - kh][2 - kw][o][i]; kRun channels o at a time.
template <int M, typename T>
void wino_filter(const T* w, int64_t C, int64_t O, bool flip, T* U) {
  const auto g = [](int r, int i) { return convk::WinoG<M>::G[r][i]; };
  const int64_t CI = flip ? O : C, CO = flip ? C : O;
  parallel_for(0, CI, std::max<int64_t>(1, 4096 / std::max<int64_t>(CO, 1)), [&](int64_t i0, int64_t i1) {
    T f[9][kRun];
    for (int64_t i = i0; i < i1; ++i)
      for (int64_t o0 = 0; o0 < CO; o0 += kRun) {
        const int64_t n = std::min<int64_t>(kRun, CO - o0);
        for (int k = 0; k < 9; ++k)
          for (int64_t l = 0; l < n; ++l)
            f[k][l] = flip ? w[(8 - k) * C * O + (o0 + l) * O + i] : w[k * C * O + i * O + o0 + l];
        sandwich_run<M + 2, 3>(g, &f[0][0], kRun, U + i * CO + o0, CI * CO, n);
      }
  });
}
template <typename T>
void wino_filter(int m, const T* w, int64_t C, int64_t O, bool flip, T* U) {
  m == 4 ? wino_filter<4>(w, C, O, flip, U) : wino_filter<2>(w, C, O, flip, U);
}

// The tiles of the forward convolution g, or (input_gradient) of the
// convolution of the output gradient with the flipped filter, whose output
// pixel (iy, ix) reads g from row iy - (2 - pt), column ix - (2 - pl).
convk::WinoGeom wino_geometry(const ConvGeom& g, int64_t m, bool input_gradient) {
  if (input_gradient)
    return {g.N, g.OH, g.OW, g.O, g.H, g.W, g.C, 2 - g.pt, 2 - g.pl, m, (g.H + m - 1) / m, (g.W + m - 1) / m};
  return {g.N, g.H, g.W, g.C, g.OH, g.OW, g.O, g.pt, g.pl, m, (g.OH + m - 1) / m, (g.OW + m - 1) / m};
}

template <typename T>
void winograd(const convk::WinoGeom& wg, const T* x, const T* U, const T* bias, Act act, T* y) {
  const auto& kern = isa_kernels<T>();
  const int64_t tiles = wg.tiles(), C = wg.C, O = wg.O, P = (wg.m + 2) * (wg.m + 2);
  parallel_for(0, (tiles + kWinoTiles - 1) / kWinoTiles, 1, [&](int64_t b0, int64_t b1) {
    Tensor keep_v, keep_m;
    T* V = scratch<T>(keep_v, P * convk::wino_stride<T>(kWinoTiles, C));
    T* M = scratch<T>(keep_m, P * convk::wino_stride<T>(kWinoTiles, O));
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t t0 = blk * kWinoTiles, t1 = std::min(tiles, t0 + kWinoTiles), nt = t1 - t0;
      const int64_t sv = convk::wino_stride<T>(nt, C), sm = convk::wino_stride<T>(nt, O);
      kern.wino_input(wg, x, t0, t1, V);
      for (int64_t xi = 0; xi < P; ++xi)
        gemm<T>(false, false, nt, O, C, T(1), V + xi * sv, C, U + xi * C * O, O, T(0), M + xi * sm, O);
      kern.wino_output(wg, M, t0, t1, bias, act, y);
    }
  });
}

template <typename T>
void forward_winograd(const ConvGeom& g, int m, const T* x, const T* w, const T* bias, Act act, T* y) {
  Tensor keep;
  T* U = scratch<T>(keep, (m + 2) * (m + 2) * g.C * g.O);
  wino_filter(m, w, g.C, g.O, false, U);
  winograd(wino_geometry(g, m, false), x, U, bias, act, y);
}

// dw = G^T dU G for each channel pair j from dU[xi][j], kRun pairs at a time.
template <int M, typename T>
void wino_filter_grad_out(const T* dU, int64_t CO, T* dw) {
  const auto gt = [](int r, int i) { return convk::WinoG<M>::G[i][r]; };
  parallel_for(0, (CO + kRun - 1) / kRun, std::max<int64_t>(1, 4096 / kRun), [&](int64_t r0, int64_t r1) {
    for (int64_t j0 = r0 * kRun; j0 < std::min(CO, r1 * kRun); j0 += kRun)
      sandwich_run<3, M + 2>(gt, dU + j0, CO, dw + j0, CO, std::min<int64_t>(kRun, CO - j0));
  });
}

// The filter gradient by Winograd, the forward transposed: dU[xi] = sum over
// tiles t of V[xi][t]^T Gt[xi][t] (input transform and A g A^T; GEMMs with the
// tiles as K), then dw = G^T dU G. Tile blocks go in kGroups fixed groups;
// each sums its own partial dU, and the partials are added in group order.
template <typename T>
void filter_grad_winograd(const ConvGeom& g, int m, const T* x, const T* gr, T* dw) {
  const auto& kern = isa_kernels<T>();
  const convk::WinoGeom wg = wino_geometry(g, m, false);
  const int64_t C = g.C, O = g.O, P = (m + 2) * (m + 2), part = P * C * O, tiles = wg.tiles();
  const int64_t blocks = (tiles + kWinoTiles - 1) / kWinoTiles, groups = std::min(kGroups, blocks);
  Tensor parts_t;
  T* parts = scratch<T>(parts_t, groups * part);
  parallel_for(0, groups, 1, [&](int64_t g0, int64_t g1) {
    Tensor keep_v, keep_g;
    T* V = scratch<T>(keep_v, P * convk::wino_stride<T>(kWinoTiles, C));
    T* Gt = scratch<T>(keep_g, P * convk::wino_stride<T>(kWinoTiles, O));
    for (int64_t grp = g0; grp < g1; ++grp) {
      T* dU = parts + grp * part;
      for (int64_t blk = blocks * grp / groups; blk < blocks * (grp + 1) / groups; ++blk) {
        const int64_t t0 = blk * kWinoTiles, t1 = std::min(tiles, t0 + kWinoTiles), nt = t1 - t0;
        const int64_t sv = convk::wino_stride<T>(nt, C), sg = convk::wino_stride<T>(nt, O);
        kern.wino_input(wg, x, t0, t1, V);
        kern.wino_grad(wg, gr, t0, t1, Gt);
        const T beta = blk == blocks * grp / groups ? T(0) : T(1);
        for (int64_t xi = 0; xi < P; ++xi)
          gemm<T>(true, false, C, O, nt, T(1), V + xi * sv, C, Gt + xi * sg, O, beta, dU + xi * C * O, O);
      }
    }
  });
  add_parts(parts, parts + part, groups - 1, part, part);
  m == 4 ? wino_filter_grad_out<4>(parts, C * O, dw) : wino_filter_grad_out<2>(parts, C * O, dw);
}

// g = dy act'(y) in full (the gradients below all read it); dx and dw by
// Winograd where they fit, the rest (db at least) by the GEMM strategy.
template <typename T>
void backward_winograd(const ConvGeom& g, const T* x, const T* w, const T* y, const T* dy, Act act, T* dx, T* dw,
                       T* db) {
  const int m_dx = dx ? wino_tile<T>(g, true) : 0, m_dw = dw ? wino_tile<T>(g, false) : 0;
  Tensor keep_g, keep_u;
  const T* gr = dy;
  if (act != Act::none) {
    T* buf = scratch<T>(keep_g, g.pixels() * g.O);
    parallel_for(0, g.pixels(), std::max<int64_t>(1, 16384 / g.O), [&](int64_t p0, int64_t p1) {
      act_backward<T>(act, y + p0 * g.O, dy + p0 * g.O, buf + p0 * g.O, (p1 - p0) * g.O);
    });
    gr = buf;
  }
  if (m_dw) filter_grad_winograd(g, m_dw, x, gr, dw);
  T *gemm_dx = m_dx ? nullptr : dx, *gemm_dw = m_dw ? nullptr : dw;
  if (gemm_dx || gemm_dw || db) backward_gemm(g, x, w, y, gr, Act::none, gemm_dx, gemm_dw, db);
  if (m_dx) {
    T* U = scratch<T>(keep_u, (m_dx + 2) * (m_dx + 2) * g.C * g.O);
    wino_filter(m_dx, w, g.C, g.O, true, U);
    winograd(wino_geometry(g, m_dx, true), gr, U, (const T*)nullptr, Act::none, dx);
  }
}

// ---- direct strategy (few input channels) ----------------------------------

// The plan of conv_kernels.h and the buffers it points into.
template <typename T>
struct DirectSetup {
  convk::Plan<T> plan;
  Tensor xpad, wpack, bias;

  // x and w may be null when the caller needs neither windows nor filter.
  DirectSetup(const ConvGeom& g, int width, const T* x, const T* w, const T* b) {
    convk::Plan<T>& P = plan;
    P.g = g;
    P.Hp = g.H + g.pt + g.pb;
    P.Wp = g.W + g.pl + g.pr;
    P.Opad = (g.O + width - 1) / width * width;
    const int64_t C = g.C;
    for (int64_t kh = 0; kh < g.KH; ++kh)
      for (int64_t kw = 0; kw < g.KW; ++kw)
        for (int64_t c = 0; c < C; ++c) P.xoff.push_back((kh * g.dh * P.Wp + kw * g.dw) * C + c);
    if (x && P.Hp == g.H && P.Wp == g.W) {
      P.xpad = x;
    } else if (x) {
      T* xp = scratch<T>(xpad, g.N * P.Hp * P.Wp * C);
      parallel_for(0, g.N * P.Hp, 64, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          const int64_t n = r / P.Hp, ih = r % P.Hp - g.pt;
          T* dst = xp + r * P.Wp * C;
          std::fill_n(dst, P.Wp * C, T(0));
          if (ih >= 0 && ih < g.H) std::copy_n(x + (n * g.H + ih) * g.W * C, g.W * C, dst + g.pl * C);
        }
      });
      P.xpad = xp;
    }
    if (w) P.wpack = pad_columns(wpack, w, g.K(), g.O, P.Opad);
    P.bias = b ? pad_columns(bias, b, 1, g.O, P.Opad) : zeros(bias, P.Opad);
  }

  static const T* zeros(Tensor& keep, int64_t n) {
    T* p = scratch<T>(keep, n);
    std::fill_n(p, n, T(0));
    return p;
  }

  static const T* pad_columns(Tensor& keep, const T* src, int64_t rows, int64_t cols, int64_t ld) {
    T* dst = scratch<T>(keep, rows * ld);
    for (int64_t r = 0; r < rows; ++r) {
      std::copy_n(src + r * cols, cols, dst + r * ld);
      std::fill_n(dst + r * ld + cols, ld - cols, T(0));
    }
    return dst;
  }
};

template <typename T>
void forward_direct(const ConvGeom& g, const T* x, const T* w, const T* bias, Act act, T* y) {
  const convk::Kernels<T>& kern = isa_kernels<T>();
  const DirectSetup<T> s(g, kern.width, x, w, bias);
  const Split b = split(g.pixels(), 256);
  parallel_for(0, b.blocks, 1, [&](int64_t b0, int64_t b1) {
    kern.forward(s.plan, act, b0 * b.rows, std::min(g.pixels(), b1 * b.rows), y + b0 * b.rows * g.O);
  });
}

template <typename T>
void backward_direct(const ConvGeom& g, const T* x, const T* w, const T* y, const T* dy, Act act, T* dx, T* dw,
                     T* db, const MaxPoolGradient* pooled) {
  const convk::Kernels<T>& kern = isa_kernels<T>();
  const DirectSetup<T> s(g, kern.width, dw ? x : nullptr, dx ? w : nullptr, nullptr);
  const int64_t K = g.K(), O = g.O, Op = s.plan.Opad, hw = g.OH * g.OW;
  Tensor whole;
  if (pooled && Op != O) {  // the image buffer has padded rows: unpool all at once
    whole = pooled->whole();
    dy = whole.data<T>(), pooled = nullptr;
  }
  // The kernels want g with rows of Opad: copy (and apply act') unless dy
  // already is that; a pooled g is unpooled into the same buffer.
  const bool copy_g = act != Act::none || Op != O || pooled;
  // Each image's g is prepared once and read twice from cache (filter
  // gradient, then input gradient).
  const int64_t groups = image_groups(g), part = K * Op + Op;
  Tensor parts_t;
  T* parts = (dw || db) ? scratch<T>(parts_t, groups * part) : nullptr;
  parallel_for(0, groups, group_grain(g, groups, (dx ? 1 : 0) + (dw ? 1 : 0)), [&](int64_t g0, int64_t g1) {
    Tensor keep;
    T* gimg = copy_g ? scratch<T>(keep, hw * Op) : nullptr;
    for (int64_t grp = g0; grp < g1; ++grp) {
      T* pdw = parts ? parts + grp * part : nullptr;
      if (pdw) std::fill_n(pdw, part, T(0));
      for (int64_t n = g.N * grp / groups; n < g.N * (grp + 1) / groups; ++n) {
        const T* gi = pooled ? gimg : dy + n * hw * O;
        if (pooled) {
          pooled->images(n, n + 1, gimg);
        } else if (copy_g && Op == O) {
          act_backward<T>(act, y ? y + n * hw * O : nullptr, gi, gimg, hw * O);  // one call per image: O is short
          gi = gimg;
        } else if (copy_g) {
          for (int64_t p = 0; p < hw; ++p) {
            const int64_t q = (n * hw + p) * O;
            act_backward<T>(act, y ? y + q : nullptr, dy + q, gimg + p * Op, O);
            std::fill_n(gimg + p * Op + O, Op - O, T(0));
          }
          gi = gimg;
        }
        if (dw) {
          for (int64_t p0 = 0; p0 < hw; p0 += 512)  // chunks keep g and the windows in L1/L2 across tap tiles
            kern.filter_grad(s.plan, gi + p0 * Op, n * hw + p0, n * hw + std::min(hw, p0 + 512), pdw);
        }
        if (db) kern.add_column_sums(gi, hw, Op, Op, pdw + K * Op);
        if (dx) kern.input_grad(s.plan, gi, 0, g.H, dx + n * g.H * g.W * g.C);
      }
    }
  });
  if (!parts) return;
  // Fixed-order sum of the group partials, dropping the column padding.
  parallel_for(0, K + 1, 64, [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; ++k) {
      T* out = k < K ? dw + k * O : db;
      if (!out) continue;
      std::fill_n(out, O, T(0));
      for (int64_t grp = 0; grp < groups; ++grp) {
        const T* src = parts + grp * part + k * Op;
        for (int64_t o = 0; o < O; ++o) out[o] += src[o];
      }
    }
  });
}

// ---- entry points ----------------------------------------------------------

void check_float_pair(const char* op, const Tensor& a, const char* an, const Tensor& b, const char* bn) {
  TT_TYPE_CHECK(is_floating(a.dtype), op, ": ", an, " must be float32 or float64, got ", dtype_name(a.dtype));
  TT_TYPE_CHECK(a.dtype == b.dtype, op, ": ", an, " is ", dtype_name(a.dtype), " but ", bn, " is ",
                dtype_name(b.dtype));
}

void check_shape(const char* op, const Tensor& t, const char* name, const Shape& want) {
  TT_CHECK(t.shape == want, op, ": ", name, " has shape ", t.shape, ", expected ", want);
}

template <typename T>
void backward_impl(const ConvGeom& g, const T* x, const T* w, const T* y, const T* dy, Act act, T* dx, T* dw,
                   T* db, const MaxPoolGradient* pooled = nullptr) {
  if (conv_uses_direct(g)) return backward_direct(g, x, w, y, dy, act, dx, dw, db, pooled);
  Tensor whole;
  if (pooled) {
    whole = pooled->whole(), dy = whole.data<T>();
    if (db) {  // the unpooled g holds the pooled gradient's values, each once: db is their sum
      std::fill_n(db, g.O, T(0));
      isa_kernels<T>().add_column_sums(pooled->pooled().data<T>(), pooled->pooled().numel() / g.O, g.O, g.O, db);
      db = nullptr;
    }
  }
  if ((dx && wino_tile<T>(g, true)) || (dw && wino_tile<T>(g, false)))
    backward_winograd(g, x, w, y, dy, act, dx, dw, db);
  else backward_gemm(g, x, w, y, dy, act, dx, dw, db);
}

ConvGeom forward_geometry(const char* op, const Tensor& x, const Tensor& w, Hw strides, Hw dilations,
                          const Padding& pad, const Tensor* bias) {
  check_float_pair(op, x, "input", w, "filter");
  const ConvGeom g = conv_geometry(op, x.shape, w.shape, strides, dilations, pad);
  if (bias) {
    TT_TYPE_CHECK(bias->dtype == x.dtype, op, ": bias is ", dtype_name(bias->dtype), " but the input is ",
                  dtype_name(x.dtype));
    check_shape(op, *bias, "bias", {g.O});
  }
  return g;
}

// No output: gradients are zeros of the right shape. (No input channels is
// no problem: K = 0 and db is still the sum of g.)
bool empty_problem(const ConvGeom& g) { return g.N == 0 || g.O == 0; }

// dx, dw, db of conv2d_backward: zeros when there is no work, else to be filled.
ConvGrads conv_grads(const ConvGeom& g, const Tensor& x, const Tensor& w, bool need_dx, bool need_db) {
  ConvGrads r;
  const bool empty = empty_problem(g);
  r.dw = empty ? Tensor::zeros(w.shape, w.dtype) : Tensor::empty(w.shape, w.dtype);
  if (need_dx) r.dx = empty ? Tensor::zeros(x.shape, x.dtype) : Tensor::empty(x.shape, x.dtype);
  if (need_db) r.db = Tensor::zeros({g.O}, w.dtype);
  return r;
}

}  // namespace

ConvBlocking conv_blocking(const ConvGeom& g, size_t itemsize) {
  const Split s = split(g.pixels(), std::clamp<int64_t>(kBlockBytes / (std::max<int64_t>(g.K(), 1) * int64_t(itemsize)), 16, 1024));
  return {s.rows, s.blocks, image_groups(g)};
}

bool conv_uses_direct(const ConvGeom& g) { return g.C >= 1 && g.C <= kDirectMaxCin; }

int conv_winograd_tile(const ConvGeom& g) { return conv_uses_direct(g) ? 0 : wino_tile<float>(g, false); }

Tensor conv2d(const Tensor& x, const Tensor& w, Hw strides, Hw dilations, const Padding& pad, const Tensor* bias,
              Act act) {
  const char* op = "conv2d";
  const ConvGeom g = forward_geometry(op, x, w, strides, dilations, pad, bias);
  Tensor y = Tensor::empty(g.output_shape(), x.dtype);
  if (y.numel() == 0) return y;
  const Tensor xc = x.contiguous(), wc = w.contiguous(), bc = bias ? bias->contiguous() : Tensor();
  TT_DISPATCH_FLOAT(x.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    const T* b = bias ? bc.data<T>() : nullptr;
    if (conv_uses_direct(g)) forward_direct(g, xc.data<T>(), wc.data<T>(), b, act, y.data<T>());
    else if (const int m = wino_tile<T>(g, false))
      forward_winograd(g, m, xc.data<T>(), wc.data<T>(), b, act, y.data<T>());
    else forward_gemm(g, xc.data<T>(), wc.data<T>(), b, act, y.data<T>());
  });
  return y;
}

PooledConv conv2d_max_pool(const Tensor& x, const Tensor& w, Hw strides, Hw dilations, const Padding& pad,
                           const Tensor* bias, Act act, Hw ksize, Hw pool_strides, const Padding& pool_pad) {
  const char* op = "conv2d_max_pool";
  const ConvGeom g = forward_geometry(op, x, w, strides, dilations, pad, bias);
  const PoolGeom pg = pool_geometry(op, g.output_shape(), ksize, pool_strides, pool_pad);
  PooledConv r;
  r.conv_shape = g.output_shape();
  if (!conv_uses_direct(g) || g.pixels() == 0 || g.O == 0) {
    r.y = max_pool2d(conv2d(x, w, strides, dilations, pad, bias, act), ksize, pool_strides, pool_pad, &r.argmax);
    return r;
  }
  r.y = Tensor::empty(pg.output_shape(), x.dtype);
  r.argmax = Tensor::empty(pg.output_shape(), pg.argmax_dtype());
  const Tensor xc = x.contiguous(), wc = w.contiguous(), bc = bias ? bias->contiguous() : Tensor();
  TT_DISPATCH_FLOAT(x.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    const convk::Kernels<T>& kern = isa_kernels<T>();
    const DirectSetup<T> s(g, kern.width, xc.data<T>(), wc.data<T>(), bias ? bc.data<T>() : nullptr);
    const int64_t hw = g.OH * g.OW;
    const int64_t grain = std::max<int64_t>(1, int64_t(kGemmMinWorkPerThread / double(hw * g.K() * g.O)));
    parallel_for(0, g.N, grain, [&](int64_t n0, int64_t n1) {
      Tensor keep;
      T* image = scratch<T>(keep, hw * g.O);  // one image's convolution: cache-sized for a first layer
      for (int64_t n = n0; n < n1; ++n) {
        kern.forward(s.plan, act, n * hw, (n + 1) * hw, image);
        max_pool2d_images(pg, image, n, n + 1, r.y, r.argmax);
      }
    });
  });
  return r;
}

ConvGrads conv2d_backward(const Tensor& x, const Tensor& w, const Tensor& y, const Tensor& dy, Hw strides,
                          Hw dilations, const Padding& pad, Act act, bool need_dx, bool need_db) {
  const char* op = "conv2d_backward";
  check_float_pair(op, x, "input", w, "filter");
  check_float_pair(op, x, "input", y, "output");
  check_float_pair(op, x, "input", dy, "output gradient");
  const ConvGeom g = conv_geometry(op, x.shape, w.shape, strides, dilations, pad);
  check_shape(op, y, "output", g.output_shape());
  check_shape(op, dy, "output gradient", g.output_shape());
  ConvGrads r = conv_grads(g, x, w, need_dx, need_db);
  if (empty_problem(g)) return r;
  const Tensor xc = x.contiguous(), wc = w.contiguous(), yc = y.contiguous(), dyc = dy.contiguous();
  TT_DISPATCH_FLOAT(x.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    backward_impl<T>(g, xc.data<T>(), wc.data<T>(), yc.data<T>(), dyc.data<T>(), act,
                     need_dx ? r.dx.data<T>() : nullptr, r.dw.data<T>(), need_db ? r.db.data<T>() : nullptr);
  });
  return r;
}

ConvGrads conv2d_backward_pooled(const Tensor& x, const Tensor& w, const MaxPoolGradient& pooled, Hw strides,
                                 Hw dilations, const Padding& pad, bool need_dx, bool need_db) {
  const char* op = "conv2d_backward_pooled";
  check_float_pair(op, x, "input", w, "filter");
  TT_TYPE_CHECK(pooled.dtype() == x.dtype, op, ": the pooled gradient is ", dtype_name(pooled.dtype()),
                " but the input is ", dtype_name(x.dtype));
  const ConvGeom g = conv_geometry(op, x.shape, w.shape, strides, dilations, pad);
  TT_CHECK(pooled.input_shape() == g.output_shape(), op, ": the max pool's input has shape ", pooled.input_shape(),
           ", not the convolution's output shape ", g.output_shape());
  ConvGrads r = conv_grads(g, x, w, need_dx, need_db);
  if (empty_problem(g)) return r;
  const Tensor xc = x.contiguous(), wc = w.contiguous();
  TT_DISPATCH_FLOAT(x.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    backward_impl<T>(g, xc.data<T>(), wc.data<T>(), nullptr, nullptr, Act::none, need_dx ? r.dx.data<T>() : nullptr,
                     r.dw.data<T>(), need_db ? r.db.data<T>() : nullptr, &pooled);
  });
  return r;
}

Tensor conv2d_backward_input(const Tensor& dy, const Tensor& w, const Shape& input_shape, Hw strides, Hw dilations,
                             const Padding& pad) {
  const char* op = "conv2d_backward_input";
  check_float_pair(op, dy, "output gradient", w, "filter");
  const ConvGeom g = conv_geometry(op, input_shape, w.shape, strides, dilations, pad);
  check_shape(op, dy, "output gradient", g.output_shape());
  if (empty_problem(g)) return Tensor::zeros(input_shape, dy.dtype);
  Tensor dx = Tensor::empty(input_shape, dy.dtype);
  const Tensor wc = w.contiguous(), dyc = dy.contiguous();
  TT_DISPATCH_FLOAT(dy.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    backward_impl<T>(g, nullptr, wc.data<T>(), nullptr, dyc.data<T>(), Act::none, dx.data<T>(), nullptr, nullptr);
  });
  return dx;
}

Tensor conv2d_backward_filter(const Tensor& x, const Tensor& dy, const Shape& filter_shape, Hw strides,
                              Hw dilations, const Padding& pad) {
  const char* op = "conv2d_backward_filter";
  check_float_pair(op, x, "input", dy, "output gradient");
  const ConvGeom g = conv_geometry(op, x.shape, filter_shape, strides, dilations, pad);
  check_shape(op, dy, "output gradient", g.output_shape());
  if (empty_problem(g)) return Tensor::zeros(filter_shape, x.dtype);
  Tensor dw = Tensor::empty(filter_shape, x.dtype);
  const Tensor xc = x.contiguous(), dyc = dy.contiguous();
  TT_DISPATCH_FLOAT(x.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    backward_impl<T>(g, xc.data<T>(), nullptr, nullptr, dyc.data<T>(), Act::none, nullptr, dw.data<T>(), nullptr);
  });
  return dw;
}

}  // namespace tt::kernels
