#include "optim.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "../core/iter.h"

namespace tt::kernels {
namespace {

constexpr int kMaxSlots = 3;
constexpr int64_t kBlock = 512;  // elements per inner call: the clipped gradient copy stays in L1

// A validated update call. Slot lists keep the order the optimizer gives them;
// an absent optional slot is null, and so is its pointer in the step function.
struct Batch {
  const TensorList& params;
  TensorList grads;  // contiguous (copies of the strided ones)
  std::array<const TensorList*, kMaxSlots> slots{};
  std::vector<int64_t> offsets;  // offsets[i]: first element of params[i] in the flat range
  GradOptions opt;
  DType dtype = DType::f32;
};

using NamedList = std::pair<const char*, const TensorList*>;

// Memory written by the update must not overlap anything else it reads or
// writes (two slots sharing a buffer, or a gradient that is a slot).
struct Span {
  uintptr_t lo, hi;
  bool written;
  const char* list;
  size_t index;
};

Span span_of(const Tensor& t, bool written, const char* list, size_t index) {
  int64_t lo = 0, hi = 0;  // element offsets reached by the view
  for (int d = 0; d < t.ndim(); ++d) {
    const int64_t reach = (t.shape[d] - 1) * t.strides[d];
    (reach < 0 ? lo : hi) += reach;
  }
  const auto base = reinterpret_cast<uintptr_t>(t.raw());
  const auto isz = int64_t(itemsize(t.dtype));
  return {base + uintptr_t(lo * isz), base + uintptr_t((hi + 1) * isz), written, list, index};
}

void check_no_overlap(const char* op, std::vector<Span> spans) {
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.lo < b.lo; });
  const Span* reach_any = nullptr;      // earlier span reaching furthest
  const Span* reach_written = nullptr;  // earlier written span reaching furthest
  for (const Span& s : spans) {
    const Span* other = s.written ? reach_any : reach_written;
    TT_CHECK(!other || s.lo >= other->hi, op, ": ", s.list, "[", s.index, "] and ", other->list, "[", other->index,
             "] share memory; every parameter and optimizer slot must be a separate buffer");
    if (!reach_any || s.hi > reach_any->hi) reach_any = &s;
    if (s.written && (!reach_written || s.hi > reach_written->hi)) reach_written = &s;
  }
}

Batch prepare(const char* op, const TensorList& params, const TensorList& grads, std::initializer_list<NamedList> slots,
              const GradOptions& opt) {
  const size_t n = params.size();
  TT_CHECK(grads.size() == n, op, ": got ", n, " params but ", grads.size(), " grads");
  for (const NamedList& s : slots)
    TT_CHECK(!s.second || s.second->size() == n, op, ": got ", n, " params but ", s.second->size(), " ", s.first);
  TT_CHECK(opt.grad_scale.empty() || opt.grad_scale.size() == n, op, ": got ", n, " params but ",
           opt.grad_scale.size(), " grad_scale values");
  TT_CHECK(opt.weight_decay.empty() || opt.weight_decay.size() == n, op, ": got ", n, " params but ",
           opt.weight_decay.size(), " weight_decay values");

  Batch b{params, {}, {}, {0}, opt};
  if (n) b.dtype = params[0].dtype;  // an empty call keeps float32 and updates nothing
  TT_TYPE_CHECK(!n || is_floating(b.dtype), op, ": params must be float32 or float64, got ", dtype_name(b.dtype));
  std::vector<Span> spans;
  for (size_t i = 0; i < n; ++i) {
    const Tensor& p = params[i];
    auto check = [&](const Tensor& t, const char* list, bool contiguous) {
      TT_TYPE_CHECK(t.dtype == b.dtype, op, ": ", list, "[", i, "] has dtype ", dtype_name(t.dtype), ", expected ",
                    dtype_name(b.dtype), " like params[0]");
      TT_CHECK(t.shape == p.shape, op, ": ", list, "[", i, "] has shape ", t.shape, ", expected ", p.shape,
               " like params[", i, "]");
      TT_CHECK(!contiguous || t.is_contiguous(), op, ": ", list, "[", i, "] must be contiguous (it is updated in place)");
      if (t.numel()) spans.push_back(span_of(t, contiguous, list, i));
    };
    check(p, "params", true);
    check(grads[i], "grads", false);
    for (const NamedList& s : slots)
      if (s.second) check((*s.second)[i], s.first, true);
    b.offsets.push_back(b.offsets.back() + p.numel());
  }
  check_no_overlap(op, std::move(spans));

  size_t k = 0;
  for (const NamedList& s : slots) b.slots[k++] = s.second;
  b.grads.reserve(n);
  for (const Tensor& g : grads) b.grads.push_back(g.contiguous());
  return b;
}

// The one loop every optimizer shares: walks all elements of all tensors in
// blocks, applies the gradient transform and weight decay, then calls
// step(n, p, g, slots) on n contiguous elements of one tensor.
template <typename T, typename Step>
void update_all(const Batch& b, double lr, const Step& step) {
  const T clip = T(b.opt.clipvalue), lr_t = T(lr);
  const std::vector<int64_t>& off = b.offsets;
  parallel_for(0, off.back(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
    const Step local_step = step;  // a private copy: its captured scalars cannot alias the arrays
    T gbuf[kBlock];
    // The tensor holding element `begin`: the last one starting at or before it.
    size_t t = size_t(std::upper_bound(off.begin(), off.end(), begin) - off.begin()) - 1;
    for (; begin < end; ++t) {
      const int64_t stop = std::min(end, off[t + 1]);
      const T scale = T(b.opt.grad_scale.empty() ? 1.0 : b.opt.grad_scale[t]);
      const T decay = T(b.opt.weight_decay.empty() ? 0.0 : b.opt.weight_decay[t]);
      for (int64_t i = begin - off[t]; i < stop - off[t]; i += kBlock) {
        const int64_t n = std::min(kBlock, stop - off[t] - i);
        T* p = b.params[t].data<T>() + i;
        const T* g = b.grads[t].data<T>() + i;
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
        for (int j = 0; j < kMaxSlots; ++j) s[j] = b.slots[j] ? (*b.slots[j])[t].data<T>() + i : nullptr;
        local_step(n, p, g, s);
      }
      begin = stop;
    }
  });
}

}  // namespace

void sgd_update(const TensorList& params, const TensorList& grads, const TensorList* momentums, double lr,
                double momentum, bool nesterov, const GradOptions& opt) {
  TT_CHECK(momentums || momentum == 0, "sgd_update: momentum=", momentum, " needs the momentums slot list");
  const Batch b = prepare("sgd_update", params, grads, {{"momentums", momentums}}, opt);
  TT_DISPATCH_FLOAT(b.dtype, "sgd_update", [&](auto tag) {
    using T = decltype(tag);
    const T lr_t = T(lr), mu = T(momentum);
    // Keras SGD: m = m*momentum - g*lr; p += m (nesterov: p += m*momentum - g*lr); no momentum: p -= g*lr.
    update_all<T>(b, lr, [=](int64_t n, T* p, const T* g, T* const* s) {
      T* m = s[0];
      if (!m) {
        for (int64_t i = 0; i < n; ++i) p[i] -= g[i] * lr_t;
      } else if (nesterov) {
        for (int64_t i = 0; i < n; ++i) {
          m[i] = m[i] * mu - g[i] * lr_t;
          p[i] += m[i] * mu - g[i] * lr_t;
        }
      } else {
        for (int64_t i = 0; i < n; ++i) {
          m[i] = m[i] * mu - g[i] * lr_t;
          p[i] += m[i];
        }
      }
    });
  });
}

void adam_update(const TensorList& params, const TensorList& grads, const TensorList& m, const TensorList& v,
                 const TensorList* vhat, double lr, double beta_1, double beta_2, double epsilon, int64_t step,
                 const GradOptions& opt) {
  TT_CHECK(step >= 1, "adam_update: step is the 1-based iteration, got ", step);
  const Batch b = prepare("adam_update", params, grads, {{"m", &m}, {"v", &v}, {"vhat", vhat}}, opt);
  TT_DISPATCH_FLOAT(b.dtype, "adam_update", [&](auto tag) {
    using T = decltype(tag);
    const double t = double(step);
    // Keras Adam: alpha = lr*sqrt(1-b2^t)/(1-b1^t); p -= m*alpha / (sqrt(v) + eps).
    const T alpha = T(lr * std::sqrt(1 - std::pow(beta_2, t)) / (1 - std::pow(beta_1, t)));
    const T c1 = T(1 - beta_1), c2 = T(1 - beta_2), eps = T(epsilon);
    update_all<T>(b, lr, [=](int64_t n, T* p, const T* g, T* const* s) {
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
  });
}

void rmsprop_update(const TensorList& params, const TensorList& grads, const TensorList& velocities,
                    const TensorList* momentums, const TensorList* average_grads, double lr, double rho,
                    double momentum, double epsilon, const GradOptions& opt) {
  TT_CHECK(momentums || momentum == 0, "rmsprop_update: momentum=", momentum, " needs the momentums slot list");
  const Batch b = prepare("rmsprop_update", params, grads,
                          {{"velocities", &velocities}, {"momentums", momentums}, {"average_grads", average_grads}}, opt);
  TT_DISPATCH_FLOAT(b.dtype, "rmsprop_update", [&](auto tag) {
    using T = decltype(tag);
    const T lr_t = T(lr), r = T(rho), c = T(1 - rho), mu = T(momentum), eps = T(epsilon);
    // Keras RMSprop: v = rho*v + (1-rho)*g^2; inc = lr*g / sqrt(v [- a^2] + eps); p -= inc or the momentum of inc.
    update_all<T>(b, lr, [=](int64_t n, T* p, const T* g, T* const* s) {
      T *v = s[0], *mom = s[1], *a = s[2];
      auto loop = [&](auto centered, auto with_momentum) {  // branch-free variants, so each vectorises
        for (int64_t i = 0; i < n; ++i) {
          v[i] = r * v[i] + c * (g[i] * g[i]);
          T denom = v[i] + eps;
          if constexpr (centered) {
            a[i] = r * a[i] + c * g[i];
            denom = v[i] - a[i] * a[i] + eps;
          }
          const T inc = lr_t * g[i] / std::sqrt(denom);
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
  });
}

void adagrad_update(const TensorList& params, const TensorList& grads, const TensorList& accumulators, double lr,
                    double epsilon, const GradOptions& opt) {
  const Batch b = prepare("adagrad_update", params, grads, {{"accumulators", &accumulators}}, opt);
  TT_DISPATCH_FLOAT(b.dtype, "adagrad_update", [&](auto tag) {
    using T = decltype(tag);
    const T lr_t = T(lr), eps = T(epsilon);
    // Keras Adagrad: acc += g^2; p -= lr*g / sqrt(acc + eps).
    update_all<T>(b, lr, [=](int64_t n, T* p, const T* g, T* const* s) {
      T* acc = s[0];
      for (int64_t i = 0; i < n; ++i) {
        acc[i] += g[i] * g[i];
        p[i] -= lr_t * g[i] / std::sqrt(acc[i] + eps);
      }
    });
  });
}

void adadelta_update(const TensorList& params, const TensorList& grads, const TensorList& accumulated_grads,
                     const TensorList& accumulated_deltas, double lr, double rho, double epsilon,
                     const GradOptions& opt) {
  const Batch b = prepare("adadelta_update", params, grads,
                          {{"accumulated_grads", &accumulated_grads}, {"accumulated_deltas", &accumulated_deltas}}, opt);
  TT_DISPATCH_FLOAT(b.dtype, "adadelta_update", [&](auto tag) {
    using T = decltype(tag);
    const T lr_t = T(lr), r = T(rho), c = T(1 - rho), eps = T(epsilon);
    // Keras Adadelta: ag = rho*ag + (1-rho)*g^2; d = -sqrt(ad+eps)*g / sqrt(ag+eps);
    // ad = rho*ad + (1-rho)*d^2; p += lr*d.
    update_all<T>(b, lr, [=](int64_t n, T* p, const T* g, T* const* s) {
      T *ag = s[0], *ad = s[1];
      for (int64_t i = 0; i < n; ++i) {
        ag[i] = r * ag[i] + c * (g[i] * g[i]);
        const T d = -(std::sqrt(ad[i] + eps) * g[i] / std::sqrt(ag[i] + eps));
        ad[i] = r * ad[i] + c * (d * d);
        p[i] += lr_t * d;
      }
    });
  });
}

double nadam_update(const TensorList& params, const TensorList& grads, const TensorList& m, const TensorList& v,
                    double lr, double beta_1, double beta_2, double epsilon, int64_t step, double u_product,
                    const GradOptions& opt) {
  TT_CHECK(step >= 1, "nadam_update: step is the 1-based iteration, got ", step);
  const Batch b = prepare("nadam_update", params, grads, {{"m", &m}, {"v", &v}}, opt);
  const double t = double(step);
  // Keras Nadam: the momentum cache u_t = beta_1*(1 - 0.5*0.96^t) and its running product.
  const double u_t = beta_1 * (1 - 0.5 * std::pow(0.96, t)), u_next = beta_1 * (1 - 0.5 * std::pow(0.96, t + 1));
  const double prod_t = u_product * u_t, prod_next = prod_t * u_next;
  TT_DISPATCH_FLOAT(b.dtype, "nadam_update", [&](auto tag) {
    using T = decltype(tag);
    const T lr_t = T(lr), c1 = T(1 - beta_1), c2 = T(1 - beta_2), eps = T(epsilon);
    const T um = T(u_next), dm = T(1 - prod_next), ug = T(1 - u_t), dg = T(1 - prod_t), dv = T(1 - std::pow(beta_2, t));
    // m_hat = u_{t+1}*m / (1 - prod_{t+1}) + (1 - u_t)*g / (1 - prod_t); p -= m_hat*lr / (sqrt(v / (1 - b2^t)) + eps).
    update_all<T>(b, lr, [=](int64_t n, T* p, const T* g, T* const* s) {
      T *mm = s[0], *vv = s[1];
      for (int64_t i = 0; i < n; ++i) {
        mm[i] += (g[i] - mm[i]) * c1;
        vv[i] += (g[i] * g[i] - vv[i]) * c2;
        const T m_hat = um * mm[i] / dm + ug * g[i] / dg;
        p[i] -= m_hat * lr_t / (std::sqrt(vv[i] / dv) + eps);
      }
    });
  });
  return prod_t;
}

namespace {

constexpr int64_t kNormChunk = 4096;

// Sum of squares in double with eight running sums combined in a fixed order.
template <typename T>
double sum_squares(const T* x, int64_t n) {
  double acc[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) acc[k] += double(x[i + k]) * double(x[i + k]);
  for (; i < n; ++i) acc[i % 8] += double(x[i]) * double(x[i]);
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// Each tensor's sum of squares from fixed-size chunks summed in order.
std::vector<double> sums_of_squares(const char* op, const TensorList& tensors) {
  TensorList xs;
  xs.reserve(tensors.size());
  std::vector<int64_t> first_chunk{0};
  for (size_t i = 0; i < tensors.size(); ++i) {
    TT_TYPE_CHECK(is_floating(tensors[i].dtype), op, ": tensors[", i, "] has dtype ", dtype_name(tensors[i].dtype),
                  ", expected float32 or float64");
    xs.push_back(tensors[i].contiguous());
    first_chunk.push_back(first_chunk.back() + (xs.back().numel() + kNormChunk - 1) / kNormChunk);
  }
  std::vector<double> chunk(size_t(first_chunk.back()));
  parallel_for(0, first_chunk.back(), 8, [&](int64_t c0, int64_t c1) {
    size_t t = size_t(std::upper_bound(first_chunk.begin(), first_chunk.end(), c0) - first_chunk.begin()) - 1;
    for (int64_t c = c0; c < c1; ++c) {
      while (c >= first_chunk[t + 1]) ++t;
      const Tensor& x = xs[t];
      const int64_t start = (c - first_chunk[t]) * kNormChunk, n = std::min(kNormChunk, x.numel() - start);
      chunk[size_t(c)] = x.dtype == DType::f32 ? sum_squares(x.data<float>() + start, n)
                                               : sum_squares(x.data<double>() + start, n);
    }
  });
  std::vector<double> sums(xs.size(), 0.0);
  for (size_t t = 0; t < xs.size(); ++t)
    for (int64_t c = first_chunk[t]; c < first_chunk[t + 1]; ++c) sums[t] += chunk[size_t(c)];
  return sums;
}

}  // namespace

std::vector<double> l2_norms(const TensorList& tensors) {
  std::vector<double> s = sums_of_squares("l2_norms", tensors);
  for (double& x : s) x = std::sqrt(x);
  return s;
}

double global_norm(const TensorList& tensors) {
  double total = 0;
  for (double x : sums_of_squares("global_norm", tensors)) total += x;
  return std::sqrt(total);
}

}  // namespace tt::kernels
