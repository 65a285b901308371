// Direct convolution kernels for inputs with few channels (Cin <= 4, first
// layers), where K = KH*KW*Cin is too short for GEMM to be efficient.
// Written once against a small vector interface `Ops` and compiled once per
// ISA (conv_direct.cpp: portable 16-byte vectors, conv_avx2.cpp,
// conv_avx512.cpp).
//
// Data the kernels read (prepared by conv.cpp):
//   xpad  the input with its padding written out as zeros, [N][Hp][Wp][C],
//         so a window never needs bounds checks;
//   wpack the filter as [K][Opad] (K = KH*KW*C in HWIO order, Opad = Cout
//         rounded up to whole vectors, zero-filled);
//   g     output gradients as [pixels][Opad], zero-filled beyond Cout.
// Every function writes each of its outputs from one thread, in a fixed order.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "activation.h"
#include "conv.h"

namespace tt::kernels::direct {

template <typename T>
struct Plan {
  ConvGeom g;
  int64_t Hp = 0, Wp = 0, Opad = 0;
  const T* xpad = nullptr;
  const T* wpack = nullptr;
  const T* bias = nullptr;    // [Opad] or null
  std::vector<int64_t> xoff;  // per k: offset of tap k in xpad from the window origin
};

template <typename T>
struct Kernels {
  int width;  // lanes per vector: Opad must be a multiple
  // y[p, :] = act(window(p) . w + bias) for output pixels p in [p0, p1).
  void (*forward)(const Plan<T>&, Act act, int64_t p0, int64_t p1, T* y);
  // dw[K][Opad] += sum over pixels p in [p0, p1), in order, of window(p)^T g[p]
  // (g points at the row of pixel p0).
  void (*filter_grad)(const Plan<T>&, const T* g, int64_t p0, int64_t p1, T* dw);
  // Rows [ih0, ih1) of one image's dx [H][W][C] (overwritten) from that
  // image's g [OH*OW][Opad].
  void (*input_grad)(const Plan<T>&, const T* g, int64_t ih0, int64_t ih1, T* dx);
};

template <typename T> Kernels<T> kernels_portable();
#if defined(__x86_64__) || defined(_M_X64)
template <typename T> Kernels<T> kernels_avx2();
template <typename T> Kernels<T> kernels_avx512();
#endif

// Walks output pixels in order and gives each one's window origin in xpad.
template <typename T>
struct PixelCursor {
  const Plan<T>& P;
  int64_t n, oh, ow;
  PixelCursor(const Plan<T>& plan, int64_t p) : P(plan) {
    const int64_t hw = P.g.OH * P.g.OW;
    n = p / hw;
    oh = p % hw / P.g.OW;
    ow = p % P.g.OW;
  }
  const T* origin() const { return P.xpad + ((n * P.Hp + oh * P.g.sh) * P.Wp + ow * P.g.sw) * P.g.C; }
  void next() {
    if (++ow == P.g.OW) {
      ow = 0;
      if (++oh == P.g.OH) oh = 0, ++n;
    }
  }
};

template <class Ops>
struct Impl {
  using T = typename Ops::T;
  using V = typename Ops::V;
  static constexpr int L = Ops::width;

  // --- forward: a tile of R pixels x NV vectors of output channels ---------
  template <int R, int NV>
  static void forward_tile(const Plan<T>& P, Act act, const T* const* org, T* const* yrow, int64_t cb, int last_n) {
    V acc[R][NV];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = Ops::zero();
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
    const V zero = Ops::zero(), six = Ops::set1(T(6));
    for (int r = 0; r < R; ++r) {
      for (int v = 0; v < NV; ++v) {
        V a = acc[r][v];
        if (P.bias) a = Ops::add(a, Ops::load(P.bias + cb + v * L));
        if (act == Act::relu) a = Ops::max(a, zero);
        if (act == Act::relu6) a = Ops::min(Ops::max(a, zero), six);
        T* dst = yrow[r] + cb + v * L;
        if (v == NV - 1 && last_n < L) Ops::store_n(dst, a, last_n);
        else Ops::store(dst, a);
      }
      if (act == Act::sigmoid || act == Act::tanh) {
        T* dst = yrow[r] + cb;
        for (int64_t j = 0, n = (NV - 1) * L + last_n; j < n; ++j) dst[j] = act_forward(act, dst[j]);
      }
    }
  }

  // All channel blocks of one tile of R pixels starting at `cur`.
  template <int R>
  static void forward_pixels(const Plan<T>& P, Act act, PixelCursor<T>& cur, int64_t p, T* y) {
    const T* org[R];
    T* yrow[R];
    for (int r = 0; r < R; ++r, cur.next()) {
      org[r] = cur.origin();
      yrow[r] = y + (p + r) * P.g.O;
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
    for (; p + Ops::kFwdR <= p1; p += Ops::kFwdR) forward_pixels<Ops::kFwdR>(P, act, cur, p, y);
    for (; p < p1; ++p) forward_pixels<1>(P, act, cur, p, y);
  }

  // --- filter gradient: KT taps x NV channel vectors, summed over pixels ---
  template <int KT, int NV>
  static void filter_grad_tile(const Plan<T>& P, const T* g, int64_t p0, int64_t p1, int64_t k0, int64_t cb, T* dw) {
    const int64_t ld = P.Opad;
    V acc[KT][NV];
    for (int k = 0; k < KT; ++k)
      for (int v = 0; v < NV; ++v) acc[k][v] = Ops::load(dw + (k0 + k) * ld + cb + v * L);
    int64_t off[KT];
    for (int k = 0; k < KT; ++k) off[k] = P.xoff[size_t(k0 + k)];
    PixelCursor<T> cur(P, p0);
    for (int64_t p = p0; p < p1; ++p, cur.next()) {
      const T* org = cur.origin();
      const T* gp = g + (p - p0) * ld + cb;
      V gv[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) gv[v] = Ops::load(gp + v * L);
#pragma GCC unroll 16
      for (int k = 0; k < KT; ++k) {
        const V x = Ops::bcast(org + off[k]);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[k][v] = Ops::fma(x, gv[v], acc[k][v]);
      }
    }
    for (int k = 0; k < KT; ++k)
      for (int v = 0; v < NV; ++v) Ops::store(dw + (k0 + k) * ld + cb + v * L, acc[k][v]);
  }

  template <int NV>
  static void filter_grad_block(const Plan<T>& P, const T* g, int64_t p0, int64_t p1, int64_t cb, T* dw) {
    const int64_t K = P.g.K();
    int64_t k = 0;
    // Taps in tiles of 8, 4, 2, 1 (capped by the register budget).
    if constexpr (Ops::kMaxKT >= 8)
      for (; k + 8 <= K; k += 8) filter_grad_tile<8, NV>(P, g, p0, p1, k, cb, dw);
    for (; k + 4 <= K; k += 4) filter_grad_tile<4, NV>(P, g, p0, p1, k, cb, dw);
    for (; k + 2 <= K; k += 2) filter_grad_tile<2, NV>(P, g, p0, p1, k, cb, dw);
    for (; k < K; ++k) filter_grad_tile<1, NV>(P, g, p0, p1, k, cb, dw);
  }

  static void filter_grad(const Plan<T>& P, const T* g, int64_t p0, int64_t p1, T* dw) {
    const int64_t nvec = P.Opad / L;
    int64_t v = 0;
    for (; v + Ops::kNV <= nvec; v += Ops::kNV) filter_grad_block<Ops::kNV>(P, g, p0, p1, v * L, dw);
    for (; v < nvec; ++v) filter_grad_block<1>(P, g, p0, p1, v * L, dw);
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
    int64_t g_off, w_off;  // into g (for j = 0) and wpack
  };

  template <int C, int R>
  static void input_grad_tile(const Plan<T>& P, const T* g, const Tap* taps, size_t ntaps, T* dx0, int64_t dx_step) {
    V acc[R][C];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) acc[r][c] = Ops::zero();
    const int64_t ld = P.Opad;
    for (size_t t = 0; t < ntaps; ++t) {
      const T* gp = g + taps[t].g_off;
      const T* wp = P.wpack + taps[t].w_off;
      for (int64_t j = 0; j < ld; j += L) {
        V wv[C];
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) wv[c] = Ops::load(wp + c * ld + j);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
          const V gv = Ops::load(gp + r * ld + j);
#pragma GCC unroll 4
          for (int c = 0; c < C; ++c) acc[r][c] = Ops::fma(gv, wv[c], acc[r][c]);
        }
      }
    }
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) dx0[r * dx_step + c] = Ops::hsum(acc[r][c]);
  }

  template <int C>
  static void input_grad_rows(const Plan<T>& P, const T* g, int64_t ih0, int64_t ih1, T* dx) {
    constexpr int R = Ops::kAcc / C < 8 ? Ops::kAcc / C : 8;
    const ConvGeom& G = P.g;
    const int64_t ld = P.Opad;
    std::vector<std::pair<int64_t, int64_t>> rows, cols;  // (kh, oh) and (kw, b)
    std::vector<Tap> taps;
    rows.reserve(size_t(G.KH));
    cols.reserve(size_t(G.KW));
    taps.reserve(size_t(G.KH * G.KW));
    auto add_taps = [&](int64_t j, bool all) {  // all: skip the range check (interior)
      taps.clear();
      for (const auto& [kh, oh] : rows)
        for (const auto& [kw, b] : cols)
          if (all || (j + b >= 0 && j + b < G.OW)) taps.push_back({(oh * G.OW + j + b) * ld, (kh * G.KW + kw) * C * ld});
    };
    for (int64_t ih = ih0; ih < ih1; ++ih) {
      rows.clear();
      for (int64_t kh = 0; kh < G.KH; ++kh) {
        const int64_t num = ih + G.pt - kh * G.dh;
        if (num >= 0 && num % G.sh == 0 && num / G.sh < G.OH) rows.push_back({kh, num / G.sh});
      }
      T* dxrow = dx + ih * G.W * C;
      for (int64_t c0 = 0; c0 < std::min(G.sw, G.W); ++c0) {
        const int64_t count = (G.W - c0 + G.sw - 1) / G.sw;
        int64_t jlo = 0, jhi = count;
        cols.clear();
        for (int64_t kw = 0; kw < G.KW; ++kw) {
          const int64_t num = c0 + G.pl - kw * G.dw;  // exact division below: C++ truncation is fine
          if (num % G.sw != 0) continue;
          const int64_t b = num / G.sw;
          cols.push_back({kw, b});
          jlo = std::max(jlo, -b);
          jhi = std::min(jhi, G.OW - b);
        }
        T* dx0 = dxrow + c0 * C;
        const int64_t step = G.sw * C;
        auto one = [&](int64_t j, bool all) {
          add_taps(j, all);
          input_grad_tile<C, 1>(P, g, taps.data(), taps.size(), dx0 + j * step, 0);
        };
        if (jhi - jlo >= R) {
          add_taps(0, true);
          // The last tile overlaps the one before: recomputing identical values is cheaper than a tail.
          for (int64_t j = jlo;; j += R) {
            const int64_t jt = std::min(j, jhi - R);
            input_grad_tile<C, R>(P, g + jt * ld, taps.data(), taps.size(), dx0 + jt * step, step);
            if (jt + R == jhi) break;
          }
          for (int64_t j = 0; j < std::min(jlo, count); ++j) one(j, false);
          for (int64_t j = std::max(jhi, jlo); j < count; ++j) one(j, false);
        } else {
          for (int64_t j = 0; j < count; ++j) one(j, false);
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

  static Kernels<T> table() { return {L, &forward, &filter_grad, &input_grad}; }
};

}  // namespace tt::kernels::direct
