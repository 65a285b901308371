// The element loops of the fused optimizer updates, written once and compiled
// per instruction set (baseline copy in optim.cpp, optim_avx2.cpp,
// optim_avx512.cpp): plain loops the compiler vectorises at the file's width.
// Adam's square root and divide per element ran 4 wide in the baseline SSE2
// build: 56-62 us of a 500 us MLP step, 32 us as AVX2.
//
// The ISA files see only plain pointers and run one flat range of elements;
// validation, the parallel loop and the denormal flush stay in optim.cpp. As
// in gemm_blocked.h, the loops sit in an anonymous namespace and use no std::
// functions, so the linker can never hand one file's build to another.
#pragma once
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "../core/dtype.h"

namespace tt::kernels {

constexpr int kMaxSlots = 3;

// A validated update: tensor t holds the elements [offsets[t], offsets[t+1])
// of the flat range; params and grads (contiguous) have one data pointer per
// tensor, and so has each slot list (null: the list is absent).
struct UpdateBatch {
  DType dtype;
  int64_t tensors;
  const int64_t* offsets;
  void* const* params;
  const void* const* grads;
  void* const* slots[kMaxSlots];
  const double* grad_scale;    // one per tensor, or null for 1
  const double* weight_decay;  // one per tensor, or null for 0
  double clipvalue;            // > 0: g is clipped to [-clipvalue, clipvalue]
};

// Each rule's coefficients, computed in optim.cpp from the optimizer's
// arguments (the formulas are in optim.h).
struct SgdCoefs { double lr, momentum; bool nesterov; };
struct AdamCoefs { double lr, alpha, c1, c2, eps; };  // alpha: lr with Adam's bias corrections
struct RmspropCoefs { double lr, rho, momentum, eps; };
struct AdagradCoefs { double lr, eps; };
struct AdadeltaCoefs { double lr, rho, eps; };
struct NadamCoefs { double lr, c1, c2, eps, um, dm, ug, dg, dv; };

// One ISA's build: each entry updates the flat elements [begin, end).
template <class Coefs>
using UpdateRange = void (*)(const UpdateBatch&, const Coefs&, int64_t begin, int64_t end);
struct OptimSteps {
  UpdateRange<SgdCoefs> sgd;
  UpdateRange<AdamCoefs> adam;
  UpdateRange<RmspropCoefs> rmsprop;
  UpdateRange<AdagradCoefs> adagrad;
  UpdateRange<AdadeltaCoefs> adadelta;
  UpdateRange<NadamCoefs> nadam;
};

const OptimSteps& optim_steps_avx2();
const OptimSteps& optim_steps_avx512();

namespace {

constexpr int64_t kUpdateBlock = 512;  // elements per step call: the clipped gradient copy stays in L1

// The one loop every rule shares: walks [begin, end) in blocks, applies the
// gradient transform and weight decay, then calls step(n, p, g, slots) on n
// contiguous elements of one tensor.
template <typename T, typename Step>
void update_range(const UpdateBatch& b, double lr, int64_t begin, int64_t end, const Step& step) {
  const T clip = T(b.clipvalue), lr_t = T(lr);
  const int64_t* off = b.offsets;
  T gbuf[kUpdateBlock];
  int64_t t = 0;  // the tensor holding element `begin`: the last one starting at or before it
  while (off[t + 1] <= begin) ++t;
  for (; begin < end; ++t) {
    const int64_t stop = end < off[t + 1] ? end : off[t + 1];
    const T scale = T(b.grad_scale ? b.grad_scale[t] : 1.0);
    const T decay = T(b.weight_decay ? b.weight_decay[t] : 0.0);
    for (int64_t i = begin - off[t]; i < stop - off[t]; i += kUpdateBlock) {
      const int64_t n = stop - off[t] - i < kUpdateBlock ? stop - off[t] - i : kUpdateBlock;
      T* p = static_cast<T*>(b.params[t]) + i;
      const T* g = static_cast<const T*>(b.grads[t]) + i;
      if (scale != T(1) || clip > T(0)) {
        for (int64_t k = 0; k < n; ++k) {
          T x = g[k] * scale;
          if (clip > T(0)) x = x < -clip ? -clip : (x > clip ? clip : x);  // NaN stays NaN
          gbuf[k] = x;
        }
        g = gbuf;
      }
      if (decay != T(0))
        for (int64_t k = 0; k < n; ++k) p[k] = p[k] - p[k] * decay * lr_t;
      T* s[kMaxSlots];
      for (int j = 0; j < kMaxSlots; ++j) s[j] = b.slots[j] ? static_cast<T*>(b.slots[j][t]) + i : nullptr;
      step(n, p, g, s);
    }
    begin = stop;
  }
}

// The rules: each calls update_range with its element loop, per dtype.
template <typename T>
void sgd_range(const UpdateBatch& b, const SgdCoefs& c, int64_t begin, int64_t end) {
  const T lr = T(c.lr), mu = T(c.momentum);
  const bool nesterov = c.nesterov;
  update_range<T>(b, c.lr, begin, end, [=](int64_t n, T* p, const T* g, T* const* s) {
    T* m = s[0];
    if (!m) {
      for (int64_t i = 0; i < n; ++i) p[i] -= g[i] * lr;
    } else if (nesterov) {
      for (int64_t i = 0; i < n; ++i) {
        m[i] = m[i] * mu - g[i] * lr;
        p[i] += m[i] * mu - g[i] * lr;
      }
    } else {
      for (int64_t i = 0; i < n; ++i) {
        m[i] = m[i] * mu - g[i] * lr;
        p[i] += m[i];
      }
    }
  });
}

template <typename T>
void adam_range(const UpdateBatch& b, const AdamCoefs& c, int64_t begin, int64_t end) {
  const T alpha = T(c.alpha), c1 = T(c.c1), c2 = T(c.c2), eps = T(c.eps);
  update_range<T>(b, c.lr, begin, end, [=](int64_t n, T* p, const T* g, T* const* s) {
    T *mm = s[0], *vv = s[1], *vh = s[2];
    for (int64_t i = 0; i < n; ++i) {
      mm[i] += (g[i] - mm[i]) * c1;
      vv[i] += (g[i] * g[i] - vv[i]) * c2;
    }
    if (vh) {
      for (int64_t i = 0; i < n; ++i) {
        vh[i] = vh[i] > vv[i] ? vh[i] : vv[i];
        p[i] -= mm[i] * alpha / (std::sqrt(vh[i]) + eps);
      }
    } else {
      for (int64_t i = 0; i < n; ++i) p[i] -= mm[i] * alpha / (std::sqrt(vv[i]) + eps);
    }
  });
}

template <typename T>
void rmsprop_range(const UpdateBatch& b, const RmspropCoefs& c, int64_t begin, int64_t end) {
  const T lr = T(c.lr), r = T(c.rho), k = T(1 - c.rho), mu = T(c.momentum), eps = T(c.eps);
  update_range<T>(b, c.lr, begin, end, [=](int64_t n, T* p, const T* g, T* const* s) {
    T *v = s[0], *mom = s[1], *a = s[2];
    auto loop = [&](auto centered, auto with_momentum) {  // branch-free variants, so each vectorises
      for (int64_t i = 0; i < n; ++i) {
        v[i] = r * v[i] + k * (g[i] * g[i]);
        T denom = v[i] + eps;
        if constexpr (centered) {
          a[i] = r * a[i] + k * g[i];
          denom = v[i] - a[i] * a[i] + eps;
        }
        const T inc = lr * g[i] / std::sqrt(denom);
        if constexpr (with_momentum) {
          mom[i] = mu * mom[i] + inc;
          p[i] -= mom[i];
        } else {
          p[i] -= inc;
        }
      }
    };
    using Yes = std::true_type;
    using No = std::false_type;
    if (a) mom ? loop(Yes{}, Yes{}) : loop(Yes{}, No{});
    else mom ? loop(No{}, Yes{}) : loop(No{}, No{});
  });
}

template <typename T>
void adagrad_range(const UpdateBatch& b, const AdagradCoefs& c, int64_t begin, int64_t end) {
  const T lr = T(c.lr), eps = T(c.eps);
  update_range<T>(b, c.lr, begin, end, [=](int64_t n, T* p, const T* g, T* const* s) {
    T* acc = s[0];
    for (int64_t i = 0; i < n; ++i) {
      acc[i] += g[i] * g[i];
      p[i] -= lr * g[i] / std::sqrt(acc[i] + eps);
    }
  });
}

template <typename T>
void adadelta_range(const UpdateBatch& b, const AdadeltaCoefs& c, int64_t begin, int64_t end) {
  const T lr = T(c.lr), r = T(c.rho), k = T(1 - c.rho), eps = T(c.eps);
  update_range<T>(b, c.lr, begin, end, [=](int64_t n, T* p, const T* g, T* const* s) {
    T *ag = s[0], *ad = s[1];
    for (int64_t i = 0; i < n; ++i) {
      ag[i] = r * ag[i] + k * (g[i] * g[i]);
      const T d = -(std::sqrt(ad[i] + eps) * g[i] / std::sqrt(ag[i] + eps));
      ad[i] = r * ad[i] + k * (d * d);
      p[i] += lr * d;
    }
  });
}

template <typename T>
void nadam_range(const UpdateBatch& b, const NadamCoefs& c, int64_t begin, int64_t end) {
  const T lr = T(c.lr), c1 = T(c.c1), c2 = T(c.c2), eps = T(c.eps);
  const T um = T(c.um), dm = T(c.dm), ug = T(c.ug), dg = T(c.dg), dv = T(c.dv);
  update_range<T>(b, c.lr, begin, end, [=](int64_t n, T* p, const T* g, T* const* s) {
    T *mm = s[0], *vv = s[1];
    for (int64_t i = 0; i < n; ++i) {
      mm[i] += (g[i] - mm[i]) * c1;
      vv[i] += (g[i] * g[i] - vv[i]) * c2;
      const T m_hat = um * mm[i] / dm + ug * g[i] / dg;
      p[i] -= m_hat * lr / (std::sqrt(vv[i] / dv) + eps);
    }
  });
}

// Each rule as an UpdateRange: float32 or float64 by the batch's dtype.
template <class Coefs, void (*F32)(const UpdateBatch&, const Coefs&, int64_t, int64_t),
          void (*F64)(const UpdateBatch&, const Coefs&, int64_t, int64_t)>
void by_dtype(const UpdateBatch& b, const Coefs& c, int64_t begin, int64_t end) {
  (b.dtype == DType::f32 ? F32 : F64)(b, c, begin, end);
}

inline OptimSteps make_optim_steps() {
  return {&by_dtype<SgdCoefs, sgd_range<float>, sgd_range<double>>,
          &by_dtype<AdamCoefs, adam_range<float>, adam_range<double>>,
          &by_dtype<RmspropCoefs, rmsprop_range<float>, rmsprop_range<double>>,
          &by_dtype<AdagradCoefs, adagrad_range<float>, adagrad_range<double>>,
          &by_dtype<AdadeltaCoefs, adadelta_range<float>, adadelta_range<double>>,
          &by_dtype<NadamCoefs, nadam_range<float>, nadam_range<double>>};
}

}  // namespace
}  // namespace tt::kernels
