// Internal to the rnn kernels: the recurrence over one block of batch rows,
// forward and backward through time, with the gate math of each cell. It is
// compiled once per instruction set (rnn.cpp for the baseline, rnn_avx2.cpp,
// rnn_avx512.cpp) so that the elementwise loops vectorise for it; rnn.cpp
// checks arguments, allocates, runs the big GEMMs and picks the ISA.
//
// As in gemm_blocked.h, everything but the tables is in an anonymous
// namespace and no std:: template is used, so that the linker can never hand
// an AVX-512 copy of a helper to baseline code. Scratch memory comes from the
// caller.
//
// Buffers are time-major in processing order (step s reads input step
// T-1-s with go_backwards); Rows::at addresses them.
// Gate layout of one row of z (G*u values, Keras order):
//   SimpleRNN  [h]            LSTM  [i | f | c | o]            GRU  [z | r | h]
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "expf.h"
#include "gemm.h"
#include "rnn.h"

namespace tt::kernels::rnn_detail {

template <typename T>
struct Seq {
  RnnConfig cfg;
  int64_t steps, batch, units, width;  // width = G*u, the gate columns
  const T* U;                          // (u, G*u) recurrent kernel, rows ldU apart
  int64_t ldU;
  const T* UT;                         // (G*u, u) its transpose (backward)
  const T* rbias;                      // GRU reset_after: recurrent bias (G*u), or null
  const uint8_t* mask;                 // (T, B) or null
  const T* rdrop;                      // (B, u) recurrent dropout scale, or null
  T* z;                                // (T, B, G*u): x W + b on entry, the activated gates after the forward
  T* h;                                // (T+1, B, u): h[0] is the initial state
  T* c;                                // (T+1, B, u): LSTM cell states
  T* aux;                              // (T, B, u) LSTM act(c); GRU reset_after h U_h + b_h, before r * h
  T* y;                                // outputs (B, T, u) with return_sequences, else (B, u)
  T* work;                             // (B, kWorkUnits * u + G*u) scratch
  uint8_t* seen;                       // (B) scratch: an unmasked step has been seen
  // The forward runs steps [s0, s1); z holds steps from zfirst on. With
  // slots > 0 (inference: nothing kept for a backward) h and c keep only
  // `slots` steps, step s in slot s % slots, and aux one.
  int64_t s0, s1, zfirst, slots;
  // backward
  const T* dy;  // like y, or null
  T* dz;        // (T, B, G*u) gradients of the gate pre-activations (input side)
  T* dzr;       // GRU reset_after: (T, B, G*u), the same on the recurrent side
  T* dh;        // (B, u): gradient of the last h on entry, of h0 on exit
  T* db;        // (B, G*u), (B, 2*G*u) with reset_after, or null: per row, dz (then dzr) summed over steps
  T* dc;        // (B, u): the same for c (LSTM)
};

constexpr int64_t kWorkUnits = 4;  // u-wide scratch vectors per row, besides one of G*u

struct Kernels {
  void (*forward_f32)(const Seq<float>&, int64_t r0, int64_t r1);
  void (*forward_f64)(const Seq<double>&, int64_t r0, int64_t r1);
  void (*backward_f32)(const Seq<float>&, int64_t r0, int64_t r1);
  void (*backward_f64)(const Seq<double>&, int64_t r0, int64_t r1);
};
const Kernels& kernels_generic();
const Kernels& kernels_avx2();
const Kernels& kernels_avx512();

namespace {

// --- activations, vectorisable ----------------------------------------------
// float: exp and tanh from expf.h, exp clamped to its range.
// double stays on libm: it is the precise path that gradient checks use.
inline float exp_approx(float x) {
  x = x < -87.3f ? -87.3f : x;
  x = x > 88.3f ? 88.3f : x;
  return expf_core(x);
}

inline float sigmoid_of(float x) { return 1.f / (1.f + exp_approx(-x)); }
inline double sigmoid_of(double x) { return 1.0 / (1.0 + std::exp(-x)); }

inline float tanh_of(float x) { return tanhf_core(x); }
inline double tanh_of(double x) { return std::tanh(x); }

// x[j] = act(x[j]), one loop per activation so that each vectorises.
template <typename T>
void activate(Act a, T* x, int64_t n) {
  switch (a) {
    case Act::none: break;
    case Act::relu:
      for (int64_t j = 0; j < n; ++j) x[j] = x[j] > T(0) ? x[j] : T(0);
      break;
    case Act::relu6:
      for (int64_t j = 0; j < n; ++j) x[j] = x[j] > T(0) ? (x[j] < T(6) ? x[j] : T(6)) : T(0);
      break;
    case Act::sigmoid:
      for (int64_t j = 0; j < n; ++j) x[j] = sigmoid_of(x[j]);
      break;
    case Act::tanh:
      for (int64_t j = 0; j < n; ++j) x[j] = tanh_of(x[j]);
      break;
  }
}

// act'(.) written with the activation's output y, branch-free so that the
// loops using it vectorise: c + y (a - b y) where lo < y < hi, else 0.
// (The backward loops below also promise the compiler that their arrays do
// not overlap, with __restrict: they are rows of different buffers.)
template <typename T>
struct Slope {
  T a = 0, b = 0, c = 1, lo = -INFINITY, hi = INFINITY;
  explicit Slope(Act act) {
    if (act == Act::relu || act == Act::relu6) lo = 0;
    if (act == Act::relu6) hi = 6;
    if (act == Act::sigmoid) a = 1, b = 1, c = 0;  // y (1 - y)
    if (act == Act::tanh) b = 1;                    // 1 - y^2
  }
  T operator()(T y) const { return T(y > lo) * T(y < hi) * (c + y * (a - b * y)); }
};

inline bool unmasked(const uint8_t* mask, int64_t s, int64_t batch, int64_t b) {
  return !mask || mask[s * batch + b];
}

// --- the cells, one row at a time ---------------------------------------------
// Forward: z holds the row's pre-activations (the input projection plus the
// recurrent one, except where a GRU resets before it); it is left holding the
// activated gates. hp: previous state, hn: new state.
//
// Backward: dhn is the gradient reaching the new state. It writes dz, the
// gradients of the pre-activations, and dhp, the part of the previous state's
// gradient that bypasses the recurrent kernel (GRU: z * dhn; others none).

// c = f c' + i g, h = o act(c); act(c) is kept in `tc` (p.aux) for the backward.
template <typename T>
void lstm_forward(const Seq<T>& p, T* z, const T* cp, T* cn, T* hn, T* tc) {
  const int64_t u = p.units;
  T *i = z, *f = z + u, *g = z + 2 * u, *o = z + 3 * u;
  activate(p.cfg.recurrent_activation, i, 2 * u);  // i and f
  activate(p.cfg.activation, g, u);
  activate(p.cfg.recurrent_activation, o, u);
  for (int64_t j = 0; j < u; ++j) tc[j] = cn[j] = f[j] * cp[j] + i[j] * g[j];
  activate(p.cfg.activation, tc, u);
  for (int64_t j = 0; j < u; ++j) hn[j] = o[j] * tc[j];
}

// dc_total = dc + dh o act'(c); then di = dc_total g, df = dc_total c',
// dg = dc_total i, do = dh act(c), dc' = dc_total f (each times its gate's slope).
template <typename T>
void lstm_backward(const Seq<T>& p, const T* __restrict z, const T* __restrict cp, const T* __restrict tc,
                   const T* __restrict dhn, T* __restrict dc, T* __restrict dz) {
  const int64_t u = p.units;
  const Slope<T> sa(p.cfg.activation), sr(p.cfg.recurrent_activation);
  const T *i = z, *f = z + u, *g = z + 2 * u, *o = z + 3 * u;
  for (int64_t j = 0; j < u; ++j) {
    const T dct = dc[j] + dhn[j] * o[j] * sa(tc[j]);
    dz[j] = dct * g[j] * sr(i[j]);
    dz[u + j] = dct * cp[j] * sr(f[j]);
    dz[2 * u + j] = dct * i[j] * sa(g[j]);
    dz[3 * u + j] = dhn[j] * tc[j] * sr(o[j]);
    dc[j] = dct * f[j];
  }
}

// GRU: h = z h' + (1 - z) hh with the candidate hh = act(x_h + r (h' U_h + b_h))
// (reset_after; `rec` is the row's h' U + b_rec and rec_h keeps its h part)
// or act(x_h + (r h') U_h) (before: the caller adds (r h') U_h to z first).
template <typename T>
void gru_gates(const Seq<T>& p, T* z, const T* rec) {
  const int64_t u = p.units;
  if (rec)
    for (int64_t j = 0; j < 2 * u; ++j) z[j] += rec[j];
  activate(p.cfg.recurrent_activation, z, 2 * u);  // z and r
}

template <typename T>
void gru_candidate(const Seq<T>& p, T* z, const T* rec, T* rec_h, const T* hp, T* hn) {
  const int64_t u = p.units;
  T *zg = z, *rg = z + u, *hh = z + 2 * u;
  if (rec)
    for (int64_t j = 0; j < u; ++j) rec_h[j] = rec[2 * u + j], hh[j] += rg[j] * rec[2 * u + j];
  activate(p.cfg.activation, hh, u);
  for (int64_t j = 0; j < u; ++j) hn[j] = zg[j] * hp[j] + (T(1) - zg[j]) * hh[j];
}

// dz_z = dhn (h' - hh) z', dz_h = dhn (1 - z) hh', dhp = dhn z.
template <typename T>
void gru_backward_candidate(const Seq<T>& p, const T* __restrict z, const T* __restrict hp, const T* __restrict dhn,
                            T* __restrict dz, T* __restrict dhp) {
  const int64_t u = p.units;
  const Slope<T> sa(p.cfg.activation), sr(p.cfg.recurrent_activation);
  const T *zg = z, *hh = z + 2 * u;
  for (int64_t j = 0; j < u; ++j) {
    dz[j] = dhn[j] * (hp[j] - hh[j]) * sr(zg[j]);
    dz[2 * u + j] = dhn[j] * (T(1) - zg[j]) * sa(hh[j]);
    dhp[j] = dhn[j] * zg[j];
  }
}

// dz_r = d(r) r' with d(r) = dz_h (h' U_h + b_h) (after: d = dz_h, v = rec_h)
// or d(r h') h' (before: d = d(r h'), v = h').
template <typename T>
void gru_backward_reset(const Seq<T>& p, const T* __restrict z, const T* __restrict d, const T* __restrict v,
                        T* __restrict dz) {
  const int64_t u = p.units;
  const Slope<T> sr(p.cfg.recurrent_activation);
  for (int64_t j = 0; j < u; ++j) dz[u + j] = d[j] * v[j] * sr(z[u + j]);
}

// --- the recurrence over rows [r0, r1) -------------------------------------------

template <typename T>
struct Rows {
  const Seq<T>& p;
  int64_t r0, n, u, G, B, ldw;
  Rows(const Seq<T>& p_, int64_t r0_, int64_t r1_)
      : p(p_), r0(r0_), n(r1_ - r0_), u(p_.units), G(p_.width), B(p_.batch), ldw(kWorkUnits * p_.units + p_.width) {}
  T* at(T* buf, int64_t s, int64_t w) const { return buf + (s * B + r0) * w; }  // step s, first row
  T* z_at(int64_t s) const { return at(p.z, s - p.zfirst, G); }
  T* state_at(T* buf, int64_t s) const { return at(buf, p.slots ? s % p.slots : s, u); }  // h, c
  T* aux_at(int64_t s) const { return at(p.aux, p.slots ? 0 : s, u); }
  T* work(int64_t k) const { return p.work + r0 * ldw + k * u; }                // scratch vector k, first row
  T* work_wide() const { return p.work + r0 * ldw + kWorkUnits * u; }           // the G*u-wide one
  // h' as the recurrent kernel sees it: with recurrent dropout, scaled into scratch 0.
  const T* recurrent_input(int64_t s, int64_t& ld) const {
    const T* hp = state_at(p.h, s);
    ld = u;
    if (!p.rdrop) return hp;
    T* hd = work(0);
    for (int64_t b = 0; b < n; ++b)
      for (int64_t j = 0; j < u; ++j) hd[b * ldw + j] = hp[b * u + j] * p.rdrop[(r0 + b) * u + j];
    ld = ldw;
    return hd;
  }
  T* output(int64_t s, int64_t b) const {
    return p.cfg.return_sequences ? p.y + ((r0 + b) * p.steps + s) * u : p.y + (r0 + b) * u;
  }
};

template <typename T>
void forward_rows(const Seq<T>& p, int64_t r0, int64_t r1) {
  const Rows<T> w(p, r0, r1);
  const int64_t n = w.n, u = w.u, G = w.G, ldw = w.ldw;
  const RnnKind kind = p.cfg.kind;
  const bool after = kind == RnnKind::gru && p.cfg.reset_after;
  if (p.s0 == 0)
    for (int64_t b = 0; b < n; ++b) p.seen[r0 + b] = 0;
  for (int64_t s = p.s0; s < p.s1; ++s) {
    T* z = w.z_at(s);
    const T* hp = w.state_at(p.h, s);
    T* hn = w.state_at(p.h, s + 1);
    int64_t ldi;
    const T* hin = w.recurrent_input(s, ldi);
    T* rec = after ? w.work_wide() : nullptr;
    if (after)
      gemm<T>(false, false, n, G, u, T(1), hin, ldi, p.U, p.ldU, T(0), rec, ldw, p.rbias);
    else  // all gates (GRU without reset_after: z and r only; h after the reset below)
      gemm<T>(false, false, n, kind == RnnKind::gru ? 2 * u : G, u, T(1), hin, ldi, p.U, p.ldU, T(1), z, G);
    if (kind == RnnKind::gru && !after) {
      T* rh = w.aux_at(s);
      for (int64_t b = 0; b < n; ++b) {
        gru_gates(p, z + b * G, (const T*)nullptr);
        for (int64_t j = 0; j < u; ++j) rh[b * u + j] = z[b * G + u + j] * hin[b * ldi + j];
      }
      gemm<T>(false, false, n, u, u, T(1), rh, u, p.U + 2 * u, p.ldU, T(1), z + 2 * u, G);
    }
    for (int64_t b = 0; b < n; ++b) {
      T* zb = z + b * G;
      switch (kind) {
        case RnnKind::simple:
          activate(p.cfg.activation, zb, u);
          std::memcpy(hn + b * u, zb, size_t(u) * sizeof(T));
          break;
        case RnnKind::lstm:
          lstm_forward(p, zb, w.state_at(p.c, s) + b * u, w.state_at(p.c, s + 1) + b * u, hn + b * u,
                       w.aux_at(s) + b * u);
          break;
        case RnnKind::gru:
          if (after) gru_gates(p, zb, rec + b * ldw);
          gru_candidate(p, zb, after ? rec + b * ldw : nullptr, w.aux_at(s) + b * u, hp + b * u, hn + b * u);
          break;
      }
      // Masked step: the states carry over; the output is the previous output.
      const bool m = unmasked(p.mask, s, w.B, r0 + b);
      if (!m) {
        std::memcpy(hn + b * u, hp + b * u, size_t(u) * sizeof(T));
        if (kind == RnnKind::lstm)
          std::memcpy(w.state_at(p.c, s + 1) + b * u, w.state_at(p.c, s) + b * u, size_t(u) * sizeof(T));
      }
      p.seen[r0 + b] |= uint8_t(m);
      if (p.cfg.return_sequences || s == p.steps - 1) {
        T* out = w.output(s, b);
        if (m || (p.seen[r0 + b] && !p.cfg.zero_output_for_mask))
          std::memcpy(out, hn + b * u, size_t(u) * sizeof(T));
        else
          for (int64_t j = 0; j < u; ++j) out[j] = T(0);
      }
    }
  }
}

// BPTT. Per row, dh is the gradient of the current state. The gradient of a
// masked step's output belongs to the output it repeats (the last unmasked
// step's, or a constant zero): it waits in `carry` until that step.
template <typename T>
void backward_rows(const Seq<T>& p, int64_t r0, int64_t r1) {
  const Rows<T> w(p, r0, r1);
  const int64_t n = w.n, u = w.u, G = w.G, ldw = w.ldw;
  const RnnKind kind = p.cfg.kind;
  const bool after = kind == RnnKind::gru && p.cfg.reset_after, before = kind == RnnKind::gru && !after;
  T *dh = p.dh + r0 * u, *dc = p.dc ? p.dc + r0 * u : nullptr;
  T *carry = w.work(1), *dhn = w.work(2), *tmp = w.work(3);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t j = 0; j < u; ++j) carry[b * ldw + j] = T(0);
  const int64_t ldb = after ? 2 * G : G;  // p.db's row
  if (p.db)
    for (int64_t j = 0; j < n * ldb; ++j) p.db[r0 * ldb + j] = T(0);
  for (int64_t s = p.steps - 1; s >= 0; --s) {
    const T* z = w.z_at(s);
    const T* hp = w.state_at(p.h, s);
    T* dz = w.at(p.dz, s, G);
    T* dzr = after ? w.at(p.dzr, s, G) : dz;  // what multiplies U^T
    for (int64_t b = 0; b < n; ++b) {
      const bool m = unmasked(p.mask, s, w.B, r0 + b);
      const T* dout = p.dy && (p.cfg.return_sequences || s == p.steps - 1) ? p.dy + (w.output(s, b) - p.y) : nullptr;
      T *cb = carry + b * ldw, *db = dhn + b * ldw, *dhb = dh + b * u, *dzb = dz + b * G;
      if (!m) {
        if (dout && !p.cfg.zero_output_for_mask)
          for (int64_t j = 0; j < u; ++j) cb[j] += dout[j];
        for (int64_t j = 0; j < G; ++j) dzb[j] = T(0);
        if (after)
          for (int64_t j = 0; j < G; ++j) dzr[b * G + j] = T(0);
        continue;  // dh and dc carry over unchanged
      }
      for (int64_t j = 0; j < u; ++j) db[j] = dhb[j] + cb[j] + (dout ? dout[j] : T(0)), cb[j] = T(0);
      const T* zb = z + b * G;
      switch (kind) {
        case RnnKind::simple: {
          const Slope<T> sa(p.cfg.activation);
          for (int64_t j = 0; j < u; ++j) dzb[j] = db[j] * sa(zb[j]), dhb[j] = T(0);
          break;
        }
        case RnnKind::lstm:
          lstm_backward(p, zb, w.state_at(p.c, s) + b * u, w.aux_at(s) + b * u, db, dc + b * u, dzb);
          for (int64_t j = 0; j < u; ++j) dhb[j] = T(0);
          break;
        case RnnKind::gru:
          gru_backward_candidate(p, zb, hp + b * u, db, dzb, dhb);
          if (after) {
            gru_backward_reset(p, zb, dzb + 2 * u, w.aux_at(s) + b * u, dzb);
            T* dzrb = dzr + b * G;
            for (int64_t j = 0; j < 2 * u; ++j) dzrb[j] = dzb[j];
            for (int64_t j = 0; j < u; ++j) dzrb[2 * u + j] = dzb[2 * u + j] * zb[u + j];
          }
          break;
      }
    }
    // d(h' as the recurrent kernel sees it), into tmp (rows x u, ld ldw)
    if (before) {  // d(r h') = dz_h U_h^T; then dr, and d h' = d(r h') r + [dz_z dz_r] U_zr^T
      gemm<T>(false, false, n, u, u, T(1), dz + 2 * u, G, p.UT + 2 * u * u, u, T(0), tmp, ldw);
      int64_t ldi;
      const T* hin = w.recurrent_input(s, ldi);
      for (int64_t b = 0; b < n; ++b) {
        if (!unmasked(p.mask, s, w.B, r0 + b)) continue;  // its dz row is zero, so is tmp's
        gru_backward_reset(p, z + b * G, tmp + b * ldw, hin + b * ldi, dz + b * G);
        for (int64_t j = 0; j < u; ++j) tmp[b * ldw + j] *= z[b * G + u + j];
      }
      gemm<T>(false, false, n, u, 2 * u, T(1), dz, G, p.UT, u, T(1), tmp, ldw);
    } else {
      gemm<T>(false, false, n, u, G, T(1), dzr, G, p.UT, u, T(0), tmp, ldw);
    }
    for (int64_t b = 0; b < n; ++b) {
      const T* rd = p.rdrop ? p.rdrop + (r0 + b) * u : nullptr;
      for (int64_t j = 0; j < u; ++j) dh[b * u + j] += rd ? tmp[b * ldw + j] * rd[j] : tmp[b * ldw + j];
    }
    // the bias gradient while dz is in cache: each row's sum over steps stays
    // in one thread, so the bits do not depend on the thread count
    if (p.db)
      for (int64_t b = 0; b < n; ++b) {
        T* acc = p.db + (r0 + b) * ldb;
        for (int64_t j = 0; j < G; ++j) acc[j] += dz[b * G + j];
        if (after)
          for (int64_t j = 0; j < G; ++j) acc[G + j] += dzr[b * G + j];
      }
  }
}

template <typename T>
void forward_entry(const Seq<T>& p, int64_t r0, int64_t r1) { forward_rows(p, r0, r1); }
template <typename T>
void backward_entry(const Seq<T>& p, int64_t r0, int64_t r1) { backward_rows(p, r0, r1); }

inline Kernels make_kernels() {
  return Kernels{&forward_entry<float>, &forward_entry<double>, &backward_entry<float>, &backward_entry<double>};
}

// float64 (gradient checks) runs the baseline build on every CPU: the ISA
// files compile the float32 recurrence only and take float64 from `generic`.
inline Kernels make_kernels_f32(const Kernels& generic) {
  return Kernels{&forward_entry<float>, generic.forward_f64, &backward_entry<float>, generic.backward_f64};
}

}  // namespace
}  // namespace tt::kernels::rnn_detail
