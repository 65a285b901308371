#include "optim.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>

#include "../core/cpu.h"
#include "../core/iter.h"
#include "optim_steps.h"

namespace tt::kernels {
namespace {

const OptimSteps& steps() {
  static const OptimSteps generic = make_optim_steps();
  switch (isa()) {
    case Isa::avx512: return optim_steps_avx512();
    case Isa::avx2: return optim_steps_avx2();
    default: return generic;
  }
}

// A validated update call: the tensors (gradients made contiguous) and the
// plain pointers the ISA builds read (UpdateBatch). Slot lists keep the order
// the optimizer gives them; an absent optional slot list is null.
struct Batch {
  TensorList grads;
  std::vector<int64_t> offsets;  // offsets[i]: first element of params[i] in the flat range
  std::vector<void*> params;
  std::vector<const void*> grad_data;
  std::vector<void*> slots[kMaxSlots];
  UpdateBatch view{};
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

void prepare(Batch& b, const char* op, const TensorList& params, const TensorList& grads,
             std::initializer_list<NamedList> slots, const GradOptions& opt) {
  const size_t n = params.size();
  TT_CHECK(grads.size() == n, op, ": got ", n, " params but ", grads.size(), " grads");
  for (const NamedList& s : slots)
    TT_CHECK(!s.second || s.second->size() == n, op, ": got ", n, " params but ", s.second->size(), " ", s.first);
  TT_CHECK(opt.grad_scale.empty() || opt.grad_scale.size() == n, op, ": got ", n, " params but ",
           opt.grad_scale.size(), " grad_scale values");
  TT_CHECK(opt.weight_decay.empty() || opt.weight_decay.size() == n, op, ": got ", n, " params but ",
           opt.weight_decay.size(), " weight_decay values");

  const DType dtype = n ? params[0].dtype : DType::f32;  // an empty call keeps float32 and updates nothing
  TT_TYPE_CHECK(!n || is_floating(dtype), op, ": params must be float32 or float64, got ", dtype_name(dtype));
  b.offsets.push_back(0);
  std::vector<Span> spans;
  for (size_t i = 0; i < n; ++i) {
    const Tensor& p = params[i];
    auto check = [&](const Tensor& t, const char* list, bool contiguous) {
      TT_TYPE_CHECK(t.dtype == dtype, op, ": ", list, "[", i, "] has dtype ", dtype_name(t.dtype), ", expected ",
                    dtype_name(dtype), " like params[0]");
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

  b.grads.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    b.grads.push_back(grads[i].contiguous());
    b.params.push_back(params[i].raw());
    b.grad_data.push_back(b.grads[i].raw());
  }
  UpdateBatch& v = b.view;
  v.dtype = dtype;
  v.tensors = int64_t(n);
  v.offsets = b.offsets.data();
  v.params = b.params.data();
  v.grads = b.grad_data.data();
  size_t k = 0;
  for (const NamedList& s : slots) {
    if (s.second) {
      for (const Tensor& t : *s.second) b.slots[k].push_back(t.raw());
      v.slots[k] = b.slots[k].data();
    }
    ++k;
  }
  v.grad_scale = opt.grad_scale.empty() ? nullptr : opt.grad_scale.data();
  v.weight_decay = opt.weight_decay.empty() ? nullptr : opt.weight_decay.data();
  v.clipvalue = opt.clipvalue;
}

// Runs one rule over every element, split between threads.
template <class Coefs>
void update_all(const Batch& b, UpdateRange<Coefs> range, const Coefs& c) {
  parallel_for(0, b.offsets.back(), kElementwiseGrain,
               [&](int64_t begin, int64_t end) { range(b.view, c, begin, end); });
}

}  // namespace

void sgd_update(const TensorList& params, const TensorList& grads, const TensorList* momentums, double lr,
                double momentum, bool nesterov, const GradOptions& opt) {
  TT_CHECK(momentums || momentum == 0, "sgd_update: momentum=", momentum, " needs the momentums slot list");
  Batch b;
  prepare(b, "sgd_update", params, grads, {{"momentums", momentums}}, opt);
  // Keras SGD: m = m*momentum - g*lr; p += m (nesterov: p += m*momentum - g*lr); no momentum: p -= g*lr.
  update_all(b, steps().sgd, {lr, momentum, nesterov});
}

void adam_update(const TensorList& params, const TensorList& grads, const TensorList& m, const TensorList& v,
                 const TensorList* vhat, double lr, double beta_1, double beta_2, double epsilon, int64_t step,
                 const GradOptions& opt) {
  TT_CHECK(step >= 1, "adam_update: step is the 1-based iteration, got ", step);
  Batch b;
  prepare(b, "adam_update", params, grads, {{"m", &m}, {"v", &v}, {"vhat", vhat}}, opt);
  const double t = double(step);
  // Keras Adam: alpha = lr*sqrt(1-b2^t)/(1-b1^t); p -= m*alpha / (sqrt(v) + eps).
  const double alpha = lr * std::sqrt(1 - std::pow(beta_2, t)) / (1 - std::pow(beta_1, t));
  update_all(b, steps().adam, {lr, alpha, 1 - beta_1, 1 - beta_2, epsilon});
}

void rmsprop_update(const TensorList& params, const TensorList& grads, const TensorList& velocities,
                    const TensorList* momentums, const TensorList* average_grads, double lr, double rho,
                    double momentum, double epsilon, const GradOptions& opt) {
  TT_CHECK(momentums || momentum == 0, "rmsprop_update: momentum=", momentum, " needs the momentums slot list");
  Batch b;
  prepare(b, "rmsprop_update", params, grads,
          {{"velocities", &velocities}, {"momentums", momentums}, {"average_grads", average_grads}}, opt);
  // Keras RMSprop: v = rho*v + (1-rho)*g^2; inc = lr*g / sqrt(v [- a^2] + eps); p -= inc or the momentum of inc.
  update_all(b, steps().rmsprop, {lr, rho, momentum, epsilon});
}

void adagrad_update(const TensorList& params, const TensorList& grads, const TensorList& accumulators, double lr,
                    double epsilon, const GradOptions& opt) {
  Batch b;
  prepare(b, "adagrad_update", params, grads, {{"accumulators", &accumulators}}, opt);
  // Keras Adagrad: acc += g^2; p -= lr*g / sqrt(acc + eps).
  update_all(b, steps().adagrad, {lr, epsilon});
}

void adadelta_update(const TensorList& params, const TensorList& grads, const TensorList& accumulated_grads,
                     const TensorList& accumulated_deltas, double lr, double rho, double epsilon,
                     const GradOptions& opt) {
  Batch b;
  prepare(b, "adadelta_update", params, grads,
          {{"accumulated_grads", &accumulated_grads}, {"accumulated_deltas", &accumulated_deltas}}, opt);
  // Keras Adadelta: ag = rho*ag + (1-rho)*g^2; d = -sqrt(ad+eps)*g / sqrt(ag+eps);
  // ad = rho*ad + (1-rho)*d^2; p += lr*d.
  update_all(b, steps().adadelta, {lr, rho, epsilon});
}

double nadam_update(const TensorList& params, const TensorList& grads, const TensorList& m, const TensorList& v,
                    double lr, double beta_1, double beta_2, double epsilon, int64_t step, double u_product,
                    const GradOptions& opt) {
  TT_CHECK(step >= 1, "nadam_update: step is the 1-based iteration, got ", step);
  Batch b;
  prepare(b, "nadam_update", params, grads, {{"m", &m}, {"v", &v}}, opt);
  const double t = double(step);
  // Keras Nadam: the momentum cache u_t = beta_1*(1 - 0.5*0.96^t) and its running product.
  const double u_t = beta_1 * (1 - 0.5 * std::pow(0.96, t)), u_next = beta_1 * (1 - 0.5 * std::pow(0.96, t + 1));
  const double prod_t = u_product * u_t, prod_next = prod_t * u_next;
  // m_hat = u_{t+1}*m / (1 - prod_{t+1}) + (1 - u_t)*g / (1 - prod_t); p -= m_hat*lr / (sqrt(v / (1 - b2^t)) + eps).
  update_all(b, steps().nadam,
             {lr, 1 - beta_1, 1 - beta_2, epsilon, u_next, 1 - prod_next, 1 - u_t, 1 - prod_t, 1 - std::pow(beta_2, t)});
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
