// The rnn kernels' driver: argument checks, buffers, the GEMMs over all time
// steps (input projection; weight gradients; input gradient), the threads,
// and the choice of ISA for the recurrence itself (rnn_impl.h).
#include "rnn.h"

#include <algorithm>
#include <cstring>
#include <tuple>

#include "../core/cpu.h"
#include "../core/parallel.h"
#include "rnn_impl.h"

namespace tt::kernels {

struct RnnSaved {
  RnnConfig cfg;
  int64_t B, T, F, u, G;
  Tensor x;             // (T, B, F) the input, time-major in processing order (one chunk when not kept)
  Tensor W, U;          // contiguous kernels
  Tensor mask, rdrop;   // (T, B) uint8 in processing order; (B, u); or empty
  Shape bias_shape;     // empty without a bias
  bool has_h0, has_c0;
  Tensor z, h, c, aux;  // see rnn_detail::Seq
};

namespace rnn_detail {
const Kernels& kernels_generic() {
  static const Kernels k = make_kernels();
  return k;
}
}  // namespace rnn_detail

namespace {

using rnn_detail::Seq;

const rnn_detail::Kernels& isa_kernels() {
  switch (isa()) {
    case Isa::avx512: return rnn_detail::kernels_avx512();
    case Isa::avx2: return rnn_detail::kernels_avx2();
    default: return rnn_detail::kernels_generic();
  }
}

void run(const Seq<float>& p, bool fwd, int64_t r0, int64_t r1) {
  (fwd ? isa_kernels().forward_f32 : isa_kernels().backward_f32)(p, r0, r1);
}
void run(const Seq<double>& p, bool fwd, int64_t r0, int64_t r1) {
  (fwd ? isa_kernels().forward_f64 : isa_kernels().backward_f64)(p, r0, r1);
}

// The recurrence over all batch rows: each thread takes a fixed block of rows
// for all steps (rows are independent), when there is enough work for that.
template <typename T>
void run_rows(const Seq<T>& p, bool fwd) {
  const double per_row = double(p.s1 - p.s0) * double(p.width) * double(p.units) * (fwd ? 1 : 2);
  const int64_t grain = std::max<int64_t>(1, int64_t(kGemmMinWorkPerThread / std::max(per_row, 1.0)));
  parallel_for(0, p.batch, grain, [&](int64_t r0, int64_t r1) { run(p, fwd, r0, r1); });
}

int64_t gate_count(RnnKind k) { return k == RnnKind::lstm ? 4 : k == RnnKind::gru ? 3 : 1; }
const char* kind_name(RnnKind k) { return k == RnnKind::lstm ? "lstm" : k == RnnKind::gru ? "gru" : "simple_rnn"; }

void check_act(Act a, const char* op, const char* what) {
  TT_CHECK(int(a) >= int(Act::none) && int(a) <= int(Act::tanh), op, ": unknown ", what, " ", int(a));
}

void check_float_like(const Tensor& t, const Tensor& x, const char* op, const char* name) {
  TT_TYPE_CHECK(t.dtype == x.dtype, op, ": ", name, " must have the dtype of the input (", dtype_name(x.dtype),
                "), got ", dtype_name(t.dtype));
}

void check_state(const Tensor* t, const Tensor& x, const Shape& want, const char* op, const char* name) {
  if (!t) return;
  check_float_like(*t, x, op, name);
  TT_CHECK(t->shape == want, op, ": ", name, " must have shape ", want, ", got ", t->shape);
}

// Time-major row (t - t0, b) <-> batch-major row (b, T-1-t) or (b, t), for
// the steps t0 <= t < t1, from src to dst. Rows of `width` elements.
template <typename T>
void swap_time_batch(const T* src, T* dst, int64_t B, int64_t Tn, int64_t width, bool reverse, bool to_time_major,
                     int64_t t0, int64_t t1) {
  parallel_for(t0 * B, t1 * B, std::max<int64_t>(1, 16384 / std::max<int64_t>(width, 1)), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t t = i / B, b = i % B, bt = b * Tn + (reverse ? Tn - 1 - t : t), tm = i - t0 * B;
      const T* s = src + (to_time_major ? bt : tm) * width;
      T* d = dst + (to_time_major ? tm : bt) * width;
      std::memcpy(d, s, size_t(width) * sizeof(T));
    }
  });
}

template <typename T>
Seq<T> make_seq(const RnnSaved& s, Tensor& work, Tensor& seen) {
  Seq<T> p{};
  p.cfg = s.cfg;
  p.steps = s.T, p.batch = s.B, p.units = s.u, p.width = s.G * s.u;
  p.U = s.U.data<T>(), p.ldU = s.G * s.u;
  p.mask = s.mask.storage ? s.mask.data<uint8_t>() : nullptr;
  p.rdrop = s.rdrop.storage ? s.rdrop.data<T>() : nullptr;
  p.z = s.z.data<T>(), p.h = s.h.data<T>();
  p.c = s.c.storage ? s.c.data<T>() : nullptr;
  p.aux = s.aux.storage ? s.aux.data<T>() : nullptr;
  work = Tensor::empty({s.B, rnn_detail::kWorkUnits * s.u + s.G * s.u}, s.x.dtype);
  seen = Tensor::empty({s.B}, DType::u8);
  p.work = work.data<T>(), p.seen = seen.data<uint8_t>();
  p.s0 = 0, p.s1 = s.T, p.zfirst = 0, p.slots = 0;
  return p;
}

}  // namespace

RnnForward rnn_forward(const RnnConfig& cfg, const Tensor& x_, const Tensor& kernel, const Tensor& recurrent_kernel,
                       const Tensor* bias, const Tensor* h0, const Tensor* c0, const Tensor* mask,
                       const Tensor* rdrop, bool keep) {
  const char* op = kind_name(cfg.kind);
  check_act(cfg.activation, op, "activation");
  check_act(cfg.recurrent_activation, op, "recurrent_activation");
  TT_TYPE_CHECK(is_floating(x_.dtype), op, ": the input must be float32 or float64, got ", dtype_name(x_.dtype));
  TT_CHECK(x_.ndim() == 3, op, ": expected an input of rank 3 (batch, timesteps, features), got shape ", x_.shape);
  const int64_t B = x_.shape[0], T = x_.shape[1], F = x_.shape[2], G = gate_count(cfg.kind);
  TT_CHECK(T >= 1, op, ": the input needs at least one timestep, got shape ", x_.shape);
  check_float_like(kernel, x_, op, "kernel");
  check_float_like(recurrent_kernel, x_, op, "recurrent_kernel");
  TT_CHECK(recurrent_kernel.ndim() == 2 && recurrent_kernel.shape[0] >= 1 &&
               recurrent_kernel.shape[1] == G * recurrent_kernel.shape[0],
           op, ": recurrent_kernel must have shape (units, ", G, " * units), got ", recurrent_kernel.shape);
  const int64_t u = recurrent_kernel.shape[0];
  TT_CHECK(kernel.ndim() == 2 && kernel.shape[0] == F && kernel.shape[1] == G * u, op, ": kernel must have shape (",
           F, ", ", G * u, ") for input ", x_.shape, " and ", u, " units, got ", kernel.shape);
  const bool two_biases = cfg.kind == RnnKind::gru && cfg.reset_after;
  if (bias) {
    check_float_like(*bias, x_, op, "bias");
    const Shape want = two_biases ? Shape{2, G * u} : Shape{G * u};
    TT_CHECK(bias->shape == want, op, ": bias must have shape ", want, " for ", u, " units, got ", bias->shape);
  }
  check_state(h0, x_, {B, u}, op, "the initial state h");
  TT_CHECK(!c0 || cfg.kind == RnnKind::lstm, op, ": only an LSTM has a cell state");
  check_state(c0, x_, {B, u}, op, "the initial state c");
  check_state(rdrop, x_, {B, u}, op, "the recurrent dropout mask");
  if (mask) {
    TT_TYPE_CHECK(mask->dtype == DType::b8, op, ": the mask must be bool, got ", dtype_name(mask->dtype));
    TT_CHECK(mask->shape == (Shape{B, T}), op, ": the mask must have shape ", Shape{B, T}, " for input ", x_.shape,
             ", got ", mask->shape);
  }

  auto s = std::make_shared<RnnSaved>();
  s->cfg = cfg;
  s->B = B, s->T = T, s->F = F, s->u = u, s->G = G;
  s->W = kernel.contiguous(), s->U = recurrent_kernel.contiguous();
  s->has_h0 = h0 != nullptr, s->has_c0 = c0 != nullptr;
  if (bias) s->bias_shape = bias->shape;
  const DType dt = x_.dtype;
  // Kept for a backward, every step's x, z, states and aux; otherwise the
  // steps go kInferenceSteps at a time (x and z of those steps) and h and c
  // roll over two slots: inference memory does not grow with the sequence.
  const int64_t chunk = keep ? T : std::min(T, kInferenceSteps), slots = keep ? 0 : 2;
  s->x = Tensor::empty({chunk, B, F}, dt);
  s->z = Tensor::empty({chunk, B, G * u}, dt);
  s->h = Tensor::empty({keep ? T + 1 : slots, B, u}, dt);
  if (cfg.kind == RnnKind::lstm) s->c = Tensor::empty({keep ? T + 1 : slots, B, u}, dt);
  if (cfg.kind != RnnKind::simple) s->aux = Tensor::empty({keep ? T : 1, B, u}, dt);
  if (rdrop) s->rdrop = rdrop->contiguous();
  if (mask) {
    const Tensor m = mask->contiguous();
    s->mask = Tensor::empty({T, B}, DType::u8);
    swap_time_batch(m.data<uint8_t>(), s->mask.data<uint8_t>(), B, T, 1, cfg.go_backwards, true, 0, T);
  }
  RnnForward out;
  out.y = Tensor::empty(cfg.return_sequences ? Shape{B, T, u} : Shape{B, u}, dt);
  TT_DISPATCH_FLOAT(dt, op, [&](auto tag) {
    using V = decltype(tag);
    const Tensor x = x_.contiguous();
    const Tensor b = bias ? bias->contiguous() : Tensor();
    auto init = [&](const Tensor& buf, const Tensor* state) {
      if (state)
        copy_into(buf.slice(0, 1).reshape({B, u}), *state);
      else
        std::memset(buf.raw(), 0, size_t(B * u) * sizeof(V));
    };
    init(s->h, h0);
    if (s->c.storage) init(s->c, c0);
    Tensor work, seen;
    Seq<V> p = make_seq<V>(*s, work, seen);
    // Every step reads all of U: with rows whose stride makes the GEMM pack
    // it at every step, a copy with longer rows is read in place.
    Tensor padded;
    if (gemm_unaliased_ld(G * u, sizeof(V)) != G * u) {
      p.ldU = gemm_unaliased_ld(G * u, sizeof(V));
      padded = Tensor::empty({u, p.ldU}, dt);
      for (int64_t i = 0; i < u; ++i)
        std::memcpy(padded.data<V>() + i * p.ldU, p.U + i * G * u, size_t(G * u) * sizeof(V));
      p.U = padded.data<V>();
    }
    p.rbias = two_biases && bias ? b.data<V>() + G * u : nullptr;
    p.y = out.y.data<V>();
    p.slots = slots;
    for (int64_t t0 = 0; t0 < T; t0 += chunk) {
      const int64_t t1 = std::min(T, t0 + chunk);
      swap_time_batch(x.data<V>(), s->x.data<V>(), B, T, F, cfg.go_backwards, true, t0, t1);
      // the input projection of these steps at once (input bias in the epilogue)
      gemm<V>(false, false, (t1 - t0) * B, G * u, F, V(1), s->x.data<V>(), std::max<int64_t>(F, 1), s->W.data<V>(),
              G * u, V(0), s->z.data<V>(), G * u, bias ? b.data<V>() : nullptr);
      p.s0 = t0, p.s1 = t1, p.zfirst = t0;
      run_rows(p, true);
    }
  });
  const int64_t last = keep ? T : T % slots;
  out.h = s->h.slice(last, last + 1).reshape({B, u}).clone();
  if (s->c.storage) out.c = s->c.slice(last, last + 1).reshape({B, u}).clone();
  if (keep) out.saved = std::move(s);
  return out;
}

RnnGrads rnn_backward(const RnnSaved& s, const Tensor* dy, const Tensor* dh, const Tensor* dc, bool need_dx) {
  const char* op = kind_name(s.cfg.kind);
  const int64_t B = s.B, T = s.T, F = s.F, u = s.u, G = s.G, TB = T * B, Gu = G * u;
  const DType dt = s.x.dtype;
  const Shape y_shape = s.cfg.return_sequences ? Shape{B, T, u} : Shape{B, u};
  for (auto [t, name, shape] : {std::tuple{dy, "the output gradient", y_shape},
                                std::tuple{dh, "the h gradient", Shape{B, u}},
                                std::tuple{dc, "the c gradient", Shape{B, u}}}) {
    if (!t) continue;
    TT_TYPE_CHECK(t->dtype == dt, op, " backward: ", name, " must be ", dtype_name(dt), ", got ", dtype_name(t->dtype));
    TT_CHECK(t->shape == shape, op, " backward: ", name, " must have shape ", shape, ", got ", t->shape);
  }
  TT_CHECK(!dc || s.cfg.kind == RnnKind::lstm, op, " backward: only an LSTM has a cell state");
  const bool after = s.cfg.kind == RnnKind::gru && s.cfg.reset_after;
  RnnGrads g;
  g.dh0 = dh ? dh->clone() : Tensor::zeros({B, u}, dt);
  if (s.cfg.kind == RnnKind::lstm) g.dc0 = dc ? dc->clone() : Tensor::zeros({B, u}, dt);
  g.dkernel = Tensor::empty({F, Gu}, dt);
  g.drecurrent_kernel = Tensor::empty({u, Gu}, dt);
  if (!s.bias_shape.empty()) g.dbias = Tensor::empty(s.bias_shape, dt);
  if (need_dx) g.dx = Tensor::empty({B, T, F}, dt);
  TT_DISPATCH_FLOAT(dt, op, [&](auto tag) {
    using V = decltype(tag);
    Tensor dz = Tensor::empty({T, B, Gu}, dt), dzr = after ? Tensor::empty({T, B, Gu}, dt) : Tensor();
    Tensor UT = Tensor::empty({Gu, u}, dt);
    const V* U = s.U.data<V>();
    for (int64_t i = 0; i < u; ++i)
      for (int64_t j = 0; j < Gu; ++j) UT.data<V>()[j * u + i] = U[i * Gu + j];
    const Tensor dyc = dy ? dy->contiguous() : Tensor();
    Tensor work, seen;
    Seq<V> p = make_seq<V>(s, work, seen);
    p.UT = UT.data<V>();
    p.dy = dy ? dyc.data<V>() : nullptr;
    p.dz = dz.data<V>(), p.dzr = after ? dzr.data<V>() : nullptr;
    p.dh = g.dh0.data<V>(), p.dc = g.dc0.storage ? g.dc0.data<V>() : nullptr;
    const int64_t bias_cols = after ? 2 * Gu : Gu;
    Tensor db_rows = g.dbias.storage ? Tensor::empty({B, bias_cols}, dt) : Tensor();
    p.db = g.dbias.storage ? db_rows.data<V>() : nullptr;
    run_rows(p, false);

    // weight gradients over all steps: dW = X^T dz, dU = H'^T dz (H' the
    // states as the recurrent kernel saw them), db = the rows' sums over steps, summed
    gemm<V>(true, false, F, Gu, TB, V(1), s.x.data<V>(), std::max<int64_t>(F, 1), dz.data<V>(), Gu, V(0),
            g.dkernel.data<V>(), Gu);
    const V* hs = s.h.data<V>();
    Tensor hd;
    if (s.rdrop.storage) {
      hd = Tensor::empty({T, B, u}, dt);
      const V* rd = s.rdrop.data<V>();
      V* o = hd.data<V>();
      parallel_for(0, TB, std::max<int64_t>(1, 16384 / u), [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i)
          for (int64_t j = 0; j < u; ++j) o[i * u + j] = hs[i * u + j] * rd[(i % B) * u + j];
      });
      hs = o;
    }
    V* dU = g.drecurrent_kernel.data<V>();
    if (s.cfg.kind == RnnKind::gru && !after) {  // z, r columns from h'; h columns from r * h'
      gemm<V>(true, false, u, 2 * u, TB, V(1), hs, u, dz.data<V>(), Gu, V(0), dU, Gu);
      gemm<V>(true, false, u, u, TB, V(1), s.aux.data<V>(), u, dz.data<V>() + 2 * u, Gu, V(0), dU + 2 * u, Gu);
    } else {
      gemm<V>(true, false, u, Gu, TB, V(1), hs, u, (after ? dzr : dz).data<V>(), Gu, V(0), dU, Gu);
    }
    if (p.db) {
      V* db = g.dbias.data<V>();
      for (int64_t j = 0; j < bias_cols; ++j) db[j] = V(0);
      for (int64_t b = 0; b < B; ++b)
        for (int64_t j = 0; j < bias_cols; ++j) db[j] += p.db[b * bias_cols + j];
    }
    if (need_dx) {
      Tensor dxt = Tensor::empty({T, B, F}, dt);
      gemm<V>(false, true, TB, F, Gu, V(1), dz.data<V>(), Gu, s.W.data<V>(), Gu, V(0), dxt.data<V>(),
              std::max<int64_t>(F, 1));
      swap_time_batch(dxt.data<V>(), g.dx.data<V>(), B, T, F, s.cfg.go_backwards, false, 0, T);
    }
  });
  if (!s.has_h0) g.dh0 = Tensor();
  if (!s.has_c0) g.dc0 = Tensor();
  return g;
}

}  // namespace tt::kernels
