// The convolution kernels that depend on the instruction set, written once
// against a small vector interface `Ops` and compiled once per ISA
// (conv_kernels.cpp: portable 16-byte vectors, conv_kernels_avx2.cpp,
// conv_kernels_avx512.cpp; the last two float32 only, float64 serves
// gradient checks and runs the portable build):
//  - im2col / col2im for the GEMM strategy (vector copies of contiguous runs);
//  - direct kernels for inputs with few channels (Cin <= 4, first layers),
//    where K = KH*KW*Cin is too short for GEMM to be efficient.
//
// Data the direct kernels read (prepared by conv.cpp):
//   xpad  the input with its padding written out as zeros, [N][Hp][Wp][C],
//         so a window never needs bounds checks;
//   wpack the filter as [K][Opad] (K = KH*KW*C in HWIO order, Opad = Cout
//         rounded up to whole vectors, zero-filled);
//   g     output gradients as [pixels][Opad], zero-filled beyond Cout.
// Every function writes each of its outputs from one thread, in a fixed order.
//
// The implementation is in an anonymous namespace on purpose: each ISA file
// gets its own private copy, so the linker can never hand code built for
// AVX-512 to a caller on another CPU. For the same reason it instantiates no
// std:: templates on shared types (their out-of-line copies would be merged
// across files) and calls the baseline act_inplace for sigmoid/tanh.
#pragma once
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "activation.h"
#include "conv.h"

namespace tt::kernels::convk {

template <typename T>
struct Plan {
  ConvGeom g;
  int64_t Hp = 0, Wp = 0, Opad = 0;
  const T* xpad = nullptr;
  const T* wpack = nullptr;
  const T* bias = nullptr;    // [Opad], zeros when the conv has no bias
  std::vector<int64_t> xoff;  // per k: offset of tap k in xpad from the window origin
};

// Winograd F(m x m, 3x3) over a 3x3 convolution with unit stride and
// dilation, m = 2 or 4: the output in tiles of m x m pixels, tile (n, ty, tx)
// computed from the (m + 2) x (m + 2) input patch whose corner is at row
// m ty - pt, column m tx - pl (reads outside the input are zeros). Tiles are
// numbered (n TH + ty) TW + tx.
struct WinoGeom {
  int64_t N, H, W, C;  // input (N, H, W, C)
  int64_t OH, OW, O;   // output (N, OH, OW, O)
  int64_t pt, pl;
  int64_t m;       // output tile side
  int64_t TH, TW;  // ceil(OH / m), ceil(OW / m)
  int64_t tiles() const { return N * TH * TW; }
};

// Elements from one patch position's (nt x ch) matrix to the next in a
// block's transformed buffers ([xi][tile][channel]): one cache line more than
// the matrix, so the (m + 2)^2 matrices a tile's transform writes (or reads)
// at once do not start in the same L1 set. When nt * ch * 4 was a multiple of
// 4 KB (96 tiles of 32 or 64 channels), those 36 streams fought over one
// set's 8 ways: the input transform took 2.3x longer on an AMD EPYC.
template <typename T>
inline int64_t wino_stride(int64_t nt, int64_t ch) {
  return nt * ch + int64_t(64 / sizeof(T));
}

// The filter transform G of F(m x m, 3x3) (Lavin & Gray, 2016; interpolation
// points 0, -1, 1 for m = 2 and 0, +-1, +-2 for m = 4): an output tile is
// A^T [(G f G^T) .* (B^T d B)] A for the 3x3 filter f and the input patch d.
// B^T and A^T are spelled out with the 1-D transforms of Impl (Wino1D).
template <int M>
struct WinoG;
template <>
struct WinoG<2> {
  static constexpr double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
};
template <>
struct WinoG<4> {
  static constexpr double G[6][3] = {{1.0 / 4, 0, 0},
                                     {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                     {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                     {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                     {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                     {0, 0, 1}};
};

template <typename T>
struct Kernels {
  int width;  // lanes per vector: Opad must be a multiple
  // Rows p0..p1 of the im2col matrix [pixels][K], K ordered (kh, kw, ci) like HWIO.
  void (*im2col)(const ConvGeom&, const T* x, int64_t p0, int64_t p1, T* A);
  // dx += im2col rows p0..p1 scattered back to their input pixels.
  void (*col2im_add)(const ConvGeom&, const T* A, int64_t p0, int64_t p1, T* dx);
  // out[0, n) += the sum of `rows` rows of a [rows][ld] matrix, in row order (db).
  void (*add_column_sums)(const T* a, int64_t rows, int64_t n, int64_t ld, T* out);
  // y[p - p0, :] = act(window(p) . w + bias) for output pixels p in [p0, p1)
  // (y points at the row of pixel p0).
  void (*forward)(const Plan<T>&, Act act, int64_t p0, int64_t p1, T* y);
  // dw[K][Opad] += sum over pixels p in [p0, p1), in order, of window(p)^T g[p]
  // (g points at the row of pixel p0).
  void (*filter_grad)(const Plan<T>&, const T* g, int64_t p0, int64_t p1, T* dw);
  // Rows [ih0, ih1) of one image's dx [H][W][C] (overwritten) from that
  // image's g [OH*OW][Opad].
  void (*input_grad)(const Plan<T>&, const T* g, int64_t ih0, int64_t ih1, T* dx);
  // Winograd transforms of tiles [t0, t1) (nt tiles; conv.cpp runs the GEMMs
  // in between): V[xi][t - t0][c] = (B^T d B)[xi] of each tile's input patch d
  // (xi = (m + 2) row + column), and each tile's output pixels = act(A^T m A +
  // bias) from M[xi][t - t0][o] (pixels past the output edge are skipped).
  void (*wino_input)(const WinoGeom&, const T* x, int64_t t0, int64_t t1, T* V);
  void (*wino_output)(const WinoGeom&, const T* M, int64_t t0, int64_t t1, const T* bias, Act act, T* y);
  // For the filter gradient: Gt[xi][t - t0][o] = (A g A^T)[xi] of each tile's
  // m x m block g of output gradients (zeros past the output edge).
  void (*wino_grad)(const WinoGeom&, const T* g, int64_t t0, int64_t t1, T* Gt);
};

template <typename T> Kernels<T> kernels_portable();
#if defined(__x86_64__) || defined(_M_X64)
template <typename T> Kernels<T> kernels_avx2();
template <typename T> Kernels<T> kernels_avx512();
#endif

// x[i] = act(x[i]) for sigmoid and tanh (defined in conv.cpp, baseline code).
template <typename T>
void act_inplace(Act act, T* x, int64_t n);

namespace {

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

struct KPair {  // a tap along one axis: (kernel index, output row or column offset)
  int64_t k, o;
  bool operator==(const KPair& other) const { return k == other.k && o == other.o; }
};

// Visits output pixels p0, p0+1, ... as (n, oh, ow).
struct Cursor {
  int64_t n, oh, ow;
  const ConvGeom& g;
  Cursor(const ConvGeom& geom, int64_t p) : g(geom) {
    n = p / (g.OH * g.OW);
    oh = p / g.OW % g.OH;
    ow = p % g.OW;
  }
  void next() {
    if (++ow == g.OW) {
      ow = 0;
      if (++oh == g.OH) oh = 0, ++n;
    }
  }
};

// For each tap of output pixel `c`: fn(a, xi, len) where `a` is the offset of
// a run of im2col entries and xi that of the input run it maps to, or -1 for
// padding. Runs contiguous in both (dilation 1 along the width, the whole
// window row inside the image) come as one run of KW*C.
template <typename F>
void for_each_tap(const ConvGeom& g, const Cursor& c, const F& fn) {
  const int64_t C = g.C, iw0 = c.ow * g.sw - g.pl;
  const bool row_inside = g.dw == 1 && iw0 >= 0 && iw0 + g.KW <= g.W;
  for (int64_t kh = 0, a = 0; kh < g.KH; ++kh) {
    const int64_t ih = c.oh * g.sh - g.pt + kh * g.dh;
    if (ih < 0 || ih >= g.H || row_inside) {
      fn(a, ih < 0 || ih >= g.H ? int64_t(-1) : ((c.n * g.H + ih) * g.W + iw0) * C, g.KW * C);
      a += g.KW * C;
      continue;
    }
    for (int64_t kw = 0; kw < g.KW; ++kw, a += C) {
      const int64_t iw = iw0 + kw * g.dw;
      fn(a, iw >= 0 && iw < g.W ? ((c.n * g.H + ih) * g.W + iw) * C : int64_t(-1), C);
    }
  }
}

// Walks output pixels in order, keeping each one's window origin in xpad.
template <typename T>
struct PixelCursor {
  const Plan<T>& P;
  int64_t n, oh, ow;
  const T* origin;
  PixelCursor(const Plan<T>& plan, int64_t p) : P(plan) {
    const int64_t hw = P.g.OH * P.g.OW;
    n = p / hw;
    oh = p % hw / P.g.OW;
    ow = p % P.g.OW;
    row_start();
    origin += ow * P.g.sw * P.g.C;
  }
  void row_start() { origin = P.xpad + (n * P.Hp + oh * P.g.sh) * P.Wp * P.g.C; }
  void next() {
    origin += P.g.sw * P.g.C;
    if (++ow == P.g.OW) {
      ow = 0;
      if (++oh == P.g.OH) oh = 0, ++n;
      row_start();
    }
  }
};

// Ops provides T, V (a vector of `width` lanes), zero, set1, load, store,
// store_n (first n lanes), bcast, reg (keep a value in a register), fma(a, b,
// c) = a*b + c, add, max, min, hsum, hsum8 (lane sums of 8 vectors), and the
// tile sizes that fit its register file: kNV vectors of output channels per
// forward / filter-gradient tile, kFwdR pixels per forward tile, kMaxKT taps
// per filter-gradient tile, kAcc accumulators per input-gradient tile.
template <class Ops>
struct Impl {
  using T = typename Ops::T;
  using V = typename Ops::V;
  static constexpr int L = Ops::width;

  // --- im2col / col2im --------------------------------------------------------
  static void im2col(const ConvGeom& g, const T* x, int64_t p0, int64_t p1, T* A) {
    const int64_t K = g.K();
    Cursor c(g, p0);
    for (int64_t p = p0; p < p1; ++p, c.next(), A += K)
      for_each_tap(g, c, [&](int64_t a, int64_t xi, int64_t len) {
        T* d = A + a;
        int64_t i = 0;
        if (xi < 0) {
          for (; i + L <= len; i += L) Ops::store(d + i, Ops::zero());
          for (; i < len; ++i) d[i] = T(0);
          return;
        }
        const T* s = x + xi;
        for (; i + L <= len; i += L) Ops::store(d + i, Ops::load(s + i));
        for (; i < len; ++i) d[i] = s[i];
      });
  }

  static void col2im_add(const ConvGeom& g, const T* A, int64_t p0, int64_t p1, T* dx) {
    const int64_t K = g.K();
    Cursor c(g, p0);
    for (int64_t p = p0; p < p1; ++p, c.next(), A += K)
      for_each_tap(g, c, [&](int64_t a, int64_t xi, int64_t len) {
        if (xi < 0) return;
        T* d = dx + xi;
        const T* s = A + a;
        int64_t i = 0;
        for (; i + L <= len; i += L) Ops::store(d + i, Ops::add(Ops::load(d + i), Ops::load(s + i)));
        for (; i < len; ++i) d[i] += s[i];
      });
  }

  // NV vectors of columns summed over the rows in registers, in S = 4/NV
  // interleaved chains (rows r = S*i + s) so the adds do not wait on each other.
  template <int NV>
  static void add_column_block(const T* a, int64_t rows, int64_t ld, T* out) {
    constexpr int S = 4 / NV;
    V acc[S][NV];
#pragma GCC unroll 4
    for (int s = 0; s < S; ++s)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[s][v] = Ops::zero();
    int64_t r = 0;
    for (; r + S <= rows; r += S)
#pragma GCC unroll 4
      for (int s = 0; s < S; ++s)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[s][v] = Ops::add(acc[s][v], Ops::load(a + (r + s) * ld + v * L));
    for (; r < rows; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[0][v] = Ops::add(acc[0][v], Ops::load(a + r * ld + v * L));
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      V t = acc[0][v];
#pragma GCC unroll 4
      for (int s = 1; s < S; ++s) t = Ops::add(t, acc[s][v]);
      Ops::store(out + v * L, Ops::add(Ops::load(out + v * L), t));
    }
  }

  static void add_column_sums(const T* a, int64_t rows, int64_t n, int64_t ld, T* out) {
    int64_t c = 0;
    for (; c + 4 * L <= n; c += 4 * L) add_column_block<4>(a + c, rows, ld, out + c);
    if (c + 2 * L <= n) add_column_block<2>(a + c, rows, ld, out + c), c += 2 * L;
    if (c + L <= n) add_column_block<1>(a + c, rows, ld, out + c), c += L;
    if (c == n) return;
    T tail[L] = {};  // the last columns, fewer than a vector
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = c; i < n; ++i) tail[i - c] += a[r * ld + i];
    for (int64_t i = c; i < n; ++i) out[i] += tail[i - c];
  }

  // --- forward: a tile of R pixels x NV vectors of output channels ---------
  // lo/hi clamp the result: (-inf, inf), (0, inf) or (0, 6) for none, relu
  // and relu6 (NaN passes through); sigmoid/tanh are applied after the store.
  template <int R, int NV>
  static void forward_tile(const Plan<T>& P, Act act, const T* const* org, T* const* yrow, int64_t cb, int last_n) {
    V acc[R][NV];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = Ops::load(P.bias + cb + v * L);
    const int64_t K = P.g.K(), ld = P.Opad;
    const int64_t* off = P.xoff.data();
    const T* w = P.wpack + cb;
    for (int64_t k = 0; k < K; ++k, w += ld) {
      V wv[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) wv[v] = Ops::load(w + v * L);
      const int64_t o = off[k];
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        const V x = Ops::bcast(org[r] + o);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[r][v] = Ops::fma(x, wv[v], acc[r][v]);
      }
    }
    const T inf = std::numeric_limits<T>::infinity();
    const bool clamp = act == Act::relu || act == Act::relu6;
    const V lo = Ops::set1(clamp ? T(0) : -inf), hi = Ops::set1(act == Act::relu6 ? T(6) : inf);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        const V a = clamp ? Ops::min(hi, Ops::max(lo, acc[r][v])) : acc[r][v];
        T* dst = yrow[r] + cb + v * L;
        if (v == NV - 1 && last_n < L) Ops::store_n(dst, a, last_n);
        else Ops::store(dst, a);
      }
    }
    if (act == Act::sigmoid || act == Act::tanh)
      for (int r = 0; r < R; ++r) act_inplace(act, yrow[r] + cb, (NV - 1) * L + last_n);
  }

  // All channel blocks of one tile of R pixels starting at `cur`.
  template <int R>
  static void forward_pixels(const Plan<T>& P, Act act, PixelCursor<T>& cur, T* y) {
    const T* org[R] = {};
    T* yrow[R] = {};
    for (int r = 0; r < R; ++r, cur.next()) {
      org[r] = cur.origin;
      yrow[r] = y + r * P.g.O;
    }
    const int64_t nvec = P.Opad / L;
    const int last_n = int(P.g.O - (nvec - 1) * L);
    int64_t v = 0;
    for (; v + Ops::kNV <= nvec; v += Ops::kNV)
      forward_tile<R, Ops::kNV>(P, act, org, yrow, v * L, v + Ops::kNV == nvec ? last_n : L);
    for (; v < nvec; ++v) forward_tile<R, 1>(P, act, org, yrow, v * L, v + 1 == nvec ? last_n : L);
  }

  static void forward(const Plan<T>& P, Act act, int64_t p0, int64_t p1, T* y) {
    PixelCursor<T> cur(P, p0);
    int64_t p = p0;
    for (; p + Ops::kFwdR <= p1; p += Ops::kFwdR) forward_pixels<Ops::kFwdR>(P, act, cur, y + (p - p0) * P.g.O);
    for (; p < p1; ++p) forward_pixels<1>(P, act, cur, y + (p - p0) * P.g.O);
  }

  // --- filter gradient: KT taps x NV channel vectors, summed over pixels ---
  template <int KT, int NV>
  static void filter_grad_tile(const Plan<T>& P, const T* g, int64_t p0, int64_t p1, int64_t k0, int64_t cb, T* dw) {
    const int64_t ld = P.Opad, xstep = P.g.sw * P.g.C;
    V acc[KT][NV];
#pragma GCC unroll 12
    for (int k = 0; k < KT; ++k)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[k][v] = Ops::load(dw + (k0 + k) * ld + cb + v * L);
    int64_t off[KT];
#pragma GCC unroll 12
    for (int k = 0; k < KT; ++k) off[k] = P.xoff[size_t(k0 + k)];
    // Pixels run along output rows, where the window origin moves by a fixed step.
    PixelCursor<T> cur(P, p0);
    for (int64_t p = p0; p < p1;) {
      const int64_t n = min64(p1 - p, P.g.OW - cur.ow);
      const T* org = cur.origin;
      const T* gp = g + (p - p0) * ld + cb;
      for (int64_t i = 0; i < n; ++i, org += xstep, gp += ld) {
        V gv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) gv[v] = Ops::load(gp + v * L);
#pragma GCC unroll 12
        for (int k = 0; k < KT; ++k) {
          const V x = Ops::bcast(org + off[k]);
#pragma GCC unroll 4
          for (int v = 0; v < NV; ++v) acc[k][v] = Ops::fma(x, gv[v], acc[k][v]);
        }
      }
      p += n;
      cur.ow = P.g.OW - 1;  // the row is done: step to the next one
      cur.next();
    }
#pragma GCC unroll 12
    for (int k = 0; k < KT; ++k)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) Ops::store(dw + (k0 + k) * ld + cb + v * L, acc[k][v]);
  }

  // K split into the fewest tiles of at most kMaxKT taps, sizes as equal as
  // possible (3x3 windows: K = 9 Cin, tiles of 9).
  template <int NV, int... KT>
  static void filter_grad_block(const Plan<T>& P, const T* g, int64_t p0, int64_t p1, int64_t cb, T* dw,
                                std::integer_sequence<int, KT...>) {
    using Tile = void (*)(const Plan<T>&, const T*, int64_t, int64_t, int64_t, int64_t, T*);
    static constexpr Tile tiles[] = {&filter_grad_tile<KT + 1, NV>...};
    const int64_t K = P.g.K(), n = (K + Ops::kMaxKT - 1) / Ops::kMaxKT;
    for (int64_t t = 0, k = 0; t < n; ++t) {
      const int64_t size = K / n + (t < K % n ? 1 : 0);
      tiles[size - 1](P, g, p0, p1, k, cb, dw);
      k += size;
    }
  }

  static void filter_grad(const Plan<T>& P, const T* g, int64_t p0, int64_t p1, T* dw) {
    const int64_t nvec = P.Opad / L;
    int64_t v = 0;
    const auto sizes = std::make_integer_sequence<int, Ops::kMaxKT>();
    for (; v + Ops::kNV <= nvec; v += Ops::kNV) filter_grad_block<Ops::kNV>(P, g, p0, p1, v * L, dw, sizes);
    for (; v < nvec; ++v) filter_grad_block<1>(P, g, p0, p1, v * L, dw, sizes);
  }

  // --- input gradient ------------------------------------------------------
  // dx[ih, iw, ci] = sum over the taps (kh, kw) whose output pixel (oh, ow)
  // exists of g[oh, ow, :] . w[kh, kw, ci, :], vectorised over the output
  // channels and reduced across lanes once per element (the gather form of
  // col2im: no scatter, so rows can go to any thread).
  // Input pixels iw = c0 + j*sw of one row (one residue c0 of the stride)
  // share their taps kw, each reading output column ow = j + b[kw]; inside
  // [jlo, jhi) every such tap exists, so tiles of R pixels there run one
  // tap list with the g pointer advanced by j.
  struct Tap {
    int64_t g_off, w_off;  // one channel vector of a tap, into g (for j = 0) and wpack
  };

  template <int C, int R>
  static void input_grad_tile(const Plan<T>& P, const T* g, const Tap* taps, size_t ntaps, T* dx0, int64_t dx_step) {
    // Short tiles split the sum into S interleaved chains to hide FMA latency.
    constexpr int S = R >= 4 ? 1 : 4 / R;
    V acc[S][R][C];
#pragma GCC unroll 4
    for (int s = 0; s < S; ++s)
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) acc[s][r][c] = Ops::zero();
    const int64_t ld = P.Opad;
    // One base register per pixel. The empty asm hides that they are g + r*ld:
    // otherwise GCC rebuilds each address from the previous one, a serial chain of adds.
    const T* gr[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      gr[r] = g + r * ld;
      asm("" : "+r"(gr[r]));
    }
    auto step = [&](const Tap& tap, V(&a)[R][C]) {
      const T* wp = P.wpack + tap.w_off;
      V wv[C];
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) wv[c] = Ops::load(wp + c * ld);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        // In a register once, not folded into each of the C FMAs as another load.
        const V gv = C > 1 ? Ops::reg(Ops::load(gr[r] + tap.g_off)) : Ops::load(gr[r] + tap.g_off);
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) a[r][c] = Ops::fma(gv, wv[c], a[r][c]);
      }
    };
    size_t t = 0;
    for (; t + S <= ntaps; t += S)
#pragma GCC unroll 4
      for (int s = 0; s < S; ++s) step(taps[t + s], acc[s]);
    for (; t < ntaps; ++t) step(taps[t], acc[0]);
    // Every loop over acc is unrolled: a variable index would keep acc in memory.
#pragma GCC unroll 4
    for (int s = 1; s < S; ++s)
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) acc[0][r][c] = Ops::add(acc[0][r][c], acc[s][r][c]);
    // Lane sums, eight vectors at a time where R*C allows (a shuffle tree, cheaper than eight reductions).
    // With dx_step == C (unit stride) the R*C results are contiguous in dx.
    T sums[R * C];
    T* const out = dx_step == C ? dx0 : sums;
    if constexpr (R * C % 8 == 0) {
#pragma GCC unroll 4
      for (int i = 0; i < R * C; i += 8) {
        V v[8];
#pragma GCC unroll 8
        for (int q = 0; q < 8; ++q) v[q] = acc[0][(i + q) / C][(i + q) % C];
        Ops::hsum8(v, out + i);
      }
      if (out == dx0) return;
    } else {
#pragma GCC unroll 8
      for (int i = 0; i < R * C; ++i) sums[i] = Ops::hsum(acc[0][i / C][i % C]);
    }
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) dx0[r * dx_step + c] = sums[r * C + c];
  }

  // q = num / s if s divides num (num may be negative).
  static bool divides(int64_t num, int64_t s, int64_t& q) {
    if (s == 1) return q = num, true;
    if (num % s != 0) return false;
    q = num / s;
    return true;
  }

  template <int C>
  static void input_grad_rows(const Plan<T>& P, const T* g, int64_t ih0, int64_t ih1, T* dx) {
    constexpr int R = Ops::kAcc / C < 8 ? Ops::kAcc / C : 8;  // pixels per tile: R*C accumulators
    const ConvGeom& G = P.g;
    const int64_t ld = P.Opad, step = G.sw * C;
    // Tap lists hold g offsets relative to the first valid output row (oh0)
    // of the input row: rows with the same pattern of (kh, oh - oh0), e.g.
    // every inner row at unit stride, reuse them.
    struct Residue {  // input pixels iw = c0 + j*sw
      int64_t count, jlo, jhi;
      std::vector<KPair> cols;                        // (kw, b): output column j + b
      std::vector<Tap> inner;                         // for j = 0, every tap valid
      std::vector<std::vector<Tap>> edge;             // for j outside [jlo, jhi)
    };
    // Kept per thread across calls (one per image), so they allocate nothing in the steady state.
    thread_local std::vector<Residue> residues;
    thread_local std::vector<KPair> rows, rel, rel_built;  // (kh, oh), (kh, oh - oh0)
    residues.resize(size_t(min64(G.sw, G.W)));
    for (int64_t c0 = 0; c0 < int64_t(residues.size()); ++c0) {
      Residue& res = residues[size_t(c0)];
      res.cols.clear();
      res.count = (G.W - c0 + G.sw - 1) / G.sw;
      res.jlo = 0;
      res.jhi = res.count;
      for (int64_t kw = 0, b; kw < G.KW; ++kw)
        if (divides(c0 + G.pl - kw * G.dw, G.sw, b)) {
          res.cols.push_back({kw, b});
          res.jlo = max64(res.jlo, -b);
          res.jhi = min64(res.jhi, G.OW - b);
        }
      if (res.jhi - res.jlo < R) res.jlo = res.jhi = 0;  // too few inner pixels for a tile: all edge
      res.edge.resize(size_t(res.count - (res.jhi - res.jlo)));
    }
    auto build = [&](std::vector<Tap>& taps, const Residue& res, int64_t j, bool inner) {
      taps.clear();
      for (const auto& [kh, dh] : rel)
        for (const auto& [kw, b] : res.cols)
          if (inner || (j + b >= 0 && j + b < G.OW))
            for (int64_t v = 0; v < ld; v += L) taps.push_back({(dh * G.OW + j + b) * ld + v, (kh * G.KW + kw) * C * ld + v});
    };
    for (int64_t ih = ih0; ih < ih1; ++ih) {
      rows.clear();
      for (int64_t kh = 0, oh; kh < G.KH; ++kh)
        if (divides(ih + G.pt - kh * G.dh, G.sh, oh) && oh >= 0 && oh < G.OH) rows.push_back({kh, oh});
      const int64_t oh0 = rows.empty() ? 0 : rows[0].o;
      rel.clear();
      for (const auto& [kh, oh] : rows) rel.push_back({kh, oh - oh0});
      if (rel != rel_built || ih == ih0) {
        for (Residue& res : residues) {
          build(res.inner, res, 0, true);
          for (int64_t j = 0, e = 0; j < res.count; ++j)
            if (j < res.jlo || j >= res.jhi) build(res.edge[size_t(e++)], res, j, false);
        }
        rel_built = rel;
      }
      const T* grow = g + oh0 * G.OW * ld;
      for (int64_t c0 = 0; c0 < int64_t(residues.size()); ++c0) {
        const Residue& res = residues[size_t(c0)];
        T* dx0 = dx + ih * G.W * C + c0 * C;
        if (res.jhi > res.jlo) {
          // The last tile overlaps the one before: recomputing identical values is cheaper than a tail.
          for (int64_t j = res.jlo;; j += R) {
            const int64_t jt = min64(j, res.jhi - R);
            input_grad_tile<C, R>(P, grow + jt * ld, res.inner.data(), res.inner.size(), dx0 + jt * step, step);
            if (jt + R == res.jhi) break;
          }
        }
        for (int64_t j = 0, e = 0; j < res.count; ++j)
          if (j < res.jlo || j >= res.jhi) {
            const std::vector<Tap>& taps = res.edge[size_t(e++)];
            input_grad_tile<C, 1>(P, grow, taps.data(), taps.size(), dx0 + j * step, 0);
          }
      }
    }
  }

  static void input_grad(const Plan<T>& P, const T* g, int64_t ih0, int64_t ih1, T* dx) {
    switch (P.g.C) {
      case 1: return input_grad_rows<1>(P, g, ih0, ih1, dx);
      case 2: return input_grad_rows<2>(P, g, ih0, ih1, dx);
      case 3: return input_grad_rows<3>(P, g, ih0, ih1, dx);
      default: return input_grad_rows<4>(P, g, ih0, ih1, dx);
    }
  }

  // --- Winograd F(m x m, 3x3) transforms --------------------------------------
  // Written once for a lane type X: Ops for whole vectors of channels, Lane
  // for the channels left over; and once for both tile sizes M.
  struct Lane {
    using V = T;
    static V zero() { return T(0); }
    static V set1(T x) { return x; }
    static V load(const T* p) { return *p; }
    static void store(T* p, V v) { *p = v; }
    static V add(V a, V b) { return a + b; }
    static V sub(V a, V b) { return a - b; }
    static V mul(V a, V b) { return a * b; }
    static V fma(V a, V b, V c) { return a * b + c; }
    static V max(V a, V b) { return a > b ? a : b; }  // b when either is NaN, as the x86 instruction
    static V min(V a, V b) { return a < b ? a : b; }
  };

  // The one-dimensional transforms x -> B^T x (input), A^T x (output) and A x
  // (filter gradient); F(4x4)'s compute the terms their rows share once.
  template <int M, class X>
  struct Wino1D {
    using XV = typename X::V;
    static XV fma(T k, XV a, XV b) { return X::fma(X::set1(k), a, b); }
    static XV scale(T k, XV a) { return X::mul(X::set1(k), a); }
    static void input(const XV (&d)[M + 2], XV (&o)[M + 2]) {
      if constexpr (M == 2) {  // B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
        o[0] = X::sub(d[0], d[2]);
        o[1] = X::add(d[1], d[2]);
        o[2] = X::sub(d[2], d[1]);
        o[3] = X::sub(d[1], d[3]);
      } else {  // B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
        const XV a = fma(-4, d[2], d[4]), b = fma(-4, d[1], d[3]), c = X::sub(d[4], d[2]);
        const XV e = scale(2, X::sub(d[3], d[1]));
        o[0] = X::add(fma(-5, d[2], scale(4, d[0])), d[4]);
        o[1] = X::add(a, b);
        o[2] = X::sub(a, b);
        o[3] = X::add(c, e);
        o[4] = X::sub(c, e);
        o[5] = X::add(fma(-5, d[3], scale(4, d[1])), d[5]);
      }
    }
    static void output(const XV (&m)[M + 2], XV (&o)[M]) {
      if constexpr (M == 2) {  // A^T = [1 1 1 0; 0 1 -1 -1]
        o[0] = X::add(X::add(m[0], m[1]), m[2]);
        o[1] = X::sub(X::sub(m[1], m[2]), m[3]);
      } else {  // A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
        const XV a = X::add(m[1], m[2]), b = X::sub(m[1], m[2]), c = X::add(m[3], m[4]), e = X::sub(m[3], m[4]);
        o[0] = X::add(X::add(m[0], a), c);
        o[1] = fma(2, e, b);
        o[2] = fma(4, c, a);
        o[3] = X::add(fma(8, e, b), m[5]);
      }
    }
    static void grad(const XV (&g)[M], XV (&o)[M + 2]) {  // A = (A^T)^T
      if constexpr (M == 2) {
        o[0] = g[0];
        o[1] = X::add(g[0], g[1]);
        o[2] = X::sub(g[0], g[1]);
        o[3] = X::sub(X::zero(), g[1]);
      } else {  // its rows pair up as even +- odd terms
        const XV e = X::add(g[0], g[2]), od = X::add(g[1], g[3]), e4 = fma(4, g[2], g[0]);
        const XV od4 = scale(2, fma(4, g[3], g[1]));
        o[0] = g[0];
        o[1] = X::add(e, od);
        o[2] = X::sub(e, od);
        o[3] = X::add(e4, od4);
        o[4] = X::sub(e4, od4);
        o[5] = g[3];
      }
    }
  };

  // f s f^T for an S x S square s and a one-dimensional transform f (S -> R
  // values): f on each row as load(i, row) gives it, then on each column,
  // handing result (r, j) to store(r, j, value). Row by row, so only one row
  // of s is live at a time (AVX2 has 16 vector registers, s alone 36).
  template <class X, int S, int R, class F, class Load, class Store>
  static void sandwich(F f, const Load& load, const Store& store) {
    using XV = typename X::V;
    XV rows[S][R];
#pragma GCC unroll 8
    for (int i = 0; i < S; ++i) {
      XV s[S];
      load(i, s);
      f(s, rows[i]);
    }
#pragma GCC unroll 8
    for (int j = 0; j < R; ++j) {
      XV col[S], res[R];
#pragma GCC unroll 8
      for (int i = 0; i < S; ++i) col[i] = rows[i][j];
      f(col, res);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) store(r, j, res[r]);
    }
  }

  // The pixels of the P x P square at (n, y0, x0) of an (N, H, W, C) array
  // a, null outside it.
  template <int P, typename Ptr>
  static void square(Ptr a, int64_t n, int64_t y0, int64_t x0, int64_t H, int64_t W, int64_t C, Ptr (&px)[P][P]) {
    for (int i = 0; i < P; ++i)
      for (int j = 0; j < P; ++j) {
        const int64_t y = y0 + i, x = x0 + j;
        px[i][j] = y >= 0 && y < H && x >= 0 && x < W ? a + ((n * H + y) * W + x) * C : nullptr;
      }
  }

  // The output pixels of tile t in the (N, OH, OW, O) array a.
  template <int M, typename Ptr>
  static void tile_pixels(const WinoGeom& w, Ptr a, int64_t t, Ptr (&px)[M][M]) {
    square<M>(a, t / (w.TH * w.TW), t / w.TW % w.TH * M, t % w.TW * M, w.OH, w.OW, w.O, px);
  }

  // Through the 2-D transform for each tile in [t0, t1): the P x P square of
  // pixels at (M ty - py, M tx - px) of the (N, H, W, C) array a (zeros
  // outside) into out[xi][t - t0][c] for the (M + 2)^2 results xi. P = M + 2:
  // B^T d B of the input patch; P = M: A g A^T of the output-gradient block.
  template <int M, int P, class X>
  static void transform_lanes(const T* const (&src)[P][P], int64_t c, T* v, int64_t step) {
    constexpr int A = M + 2;
    using XV = typename X::V;
    const auto load = [&](int i, XV (&row)[P]) {
#pragma GCC unroll 8
      for (int j = 0; j < P; ++j) row[j] = src[i][j] ? X::load(src[i][j] + c) : X::zero();
    };
    const auto store = [&](int i, int j, XV u) { X::store(v + (A * i + j) * step, u); };
    if constexpr (P == A) sandwich<X, P, A>(Wino1D<M, X>::input, load, store);
    else sandwich<X, P, A>(Wino1D<M, X>::grad, load, store);
  }

  template <int M, int P>
  static void transform_tiles(const WinoGeom& w, const T* a, int64_t H, int64_t W, int64_t C, int64_t py,
                              int64_t px, int64_t t0, int64_t t1, T* out) {
    const int64_t step = wino_stride<T>(t1 - t0, C);
    for (int64_t t = t0; t < t1; ++t) {
      const T* src[P][P];
      square<P>(a, t / (w.TH * w.TW), t / w.TW % w.TH * M - py, t % w.TW * M - px, H, W, C, src);
      T* v = out + (t - t0) * C;
      int64_t c = 0;
      for (; c + L <= C; c += L) transform_lanes<M, P, Ops>(src, c, v + c, step);
      for (; c < C; ++c) transform_lanes<M, P, Lane>(src, c, v + c, step);
    }
  }

  // A^T m A (+ bias, clamped to [lo, hi]) for the channels at o into the
  // tile's output pixels out (null past the edge).
  template <int M, class X>
  static void wino_output_lanes(const T* m, int64_t step, const T* bias, typename X::V lo, typename X::V hi,
                                bool clamp, T* const (&out)[M][M], int64_t o) {
    constexpr int A = M + 2;
    using XV = typename X::V;
    const XV b = bias ? X::load(bias + o) : X::zero();
    const auto load = [&](int i, XV (&row)[A]) {
#pragma GCC unroll 8
      for (int j = 0; j < A; ++j) row[j] = X::load(m + (A * i + j) * step);
    };
    const auto store = [&](int r, int k, XV y) {
      const XV v = X::add(y, b);
      if (out[r][k]) X::store(out[r][k] + o, clamp ? X::min(hi, X::max(lo, v)) : v);
    };
    sandwich<X, A, M>(Wino1D<M, X>::output, load, store);
  }

  template <int M>
  static void wino_output_tiles(const WinoGeom& w, const T* Mx, int64_t t0, int64_t t1, const T* bias, Act act,
                                T* y) {
    const int64_t O = w.O, step = wino_stride<T>(t1 - t0, O);
    const T inf = std::numeric_limits<T>::infinity();
    const bool clamp = act == Act::relu || act == Act::relu6;
    const T lo = clamp ? T(0) : -inf, hi = act == Act::relu6 ? T(6) : inf;
    for (int64_t t = t0; t < t1; ++t) {
      T* out[M][M];
      tile_pixels<M>(w, y, t, out);
      const T* m = Mx + (t - t0) * O;
      int64_t o = 0;
      for (; o + L <= O; o += L)
        wino_output_lanes<M, Ops>(m + o, step, bias, Ops::set1(lo), Ops::set1(hi), clamp, out, o);
      for (; o < O; ++o) wino_output_lanes<M, Lane>(m + o, step, bias, lo, hi, clamp, out, o);
      if (act == Act::sigmoid || act == Act::tanh)
        for (int r = 0; r < M; ++r)
          for (int k = 0; k < M; ++k)
            if (out[r][k]) act_inplace(act, out[r][k], O);
    }
  }

  static void wino_input(const WinoGeom& w, const T* x, int64_t t0, int64_t t1, T* V) {
    w.m == 4 ? transform_tiles<4, 6>(w, x, w.H, w.W, w.C, w.pt, w.pl, t0, t1, V)
             : transform_tiles<2, 4>(w, x, w.H, w.W, w.C, w.pt, w.pl, t0, t1, V);
  }
  static void wino_output(const WinoGeom& w, const T* M, int64_t t0, int64_t t1, const T* bias, Act act, T* y) {
    w.m == 4 ? wino_output_tiles<4>(w, M, t0, t1, bias, act, y) : wino_output_tiles<2>(w, M, t0, t1, bias, act, y);
  }
  static void wino_grad(const WinoGeom& w, const T* g, int64_t t0, int64_t t1, T* Gt) {
    w.m == 4 ? transform_tiles<4, 4>(w, g, w.OH, w.OW, w.O, 0, 0, t0, t1, Gt)
             : transform_tiles<2, 2>(w, g, w.OH, w.OW, w.O, 0, 0, t0, t1, Gt);
  }

  static Kernels<T> table() {
    Kernels<T> k{L, &im2col, &col2im_add, &add_column_sums, &forward, &filter_grad, &input_grad, nullptr, nullptr,
                 nullptr};
    if constexpr (sizeof(T) == 4)  // Winograd is float32 only (conv.cpp)
      k.wino_input = &wino_input, k.wino_output = &wino_output, k.wino_grad = &wino_grad;
    return k;
  }
};

}  // namespace
}  // namespace tt::kernels::convk
