#include "reduce.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "../core/parallel.h"

namespace tt::kernels {
namespace {

const char* reduce_name(Reduce op) {
  static const char* names[] = {"reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod", "reduce_any",
                                "reduce_all"};
  return names[int(op)];
}

// Accumulator type: double for float32 sums/means/products, else T.
template <typename T>
using Acc = typename std::conditional<std::is_same<T, float>::value, double, T>::type;

template <typename T, typename A>
struct Op {
  Reduce op;
  A init() const {
    switch (op) {
      case Reduce::max:
        if constexpr (std::is_floating_point<T>::value) return -std::numeric_limits<A>::infinity();
        else return A(std::numeric_limits<T>::lowest());
      case Reduce::min:
        if constexpr (std::is_floating_point<T>::value) return std::numeric_limits<A>::infinity();
        else return A(std::numeric_limits<T>::max());
      case Reduce::prod: case Reduce::all: return A(1);
      default: return A(0);
    }
  }
  A operator()(A acc, A v) const {
    switch (op) {
      case Reduce::max:
        if constexpr (std::is_floating_point<T>::value) if (std::isnan(v) || std::isnan(acc)) return acc + v;
        return v > acc ? v : acc;
      case Reduce::min:
        if constexpr (std::is_floating_point<T>::value) if (std::isnan(v) || std::isnan(acc)) return acc + v;
        return v < acc ? v : acc;
      case Reduce::prod:
        if constexpr (std::is_same<A, bool>::value) return acc && v;
        else return acc * v;
      case Reduce::any: return A(bool(acc) || bool(v));
      case Reduce::all: return A(bool(acc) && bool(v));
      default: return acc + v;
    }
  }
};

// The reduction as two nested index spaces over x: `outer` (kept dims, one
// output element each) and `inner` (reduced dims), each a list of (size, stride).
struct Plan {
  std::vector<int64_t> kept_dims, kept_strides, red_dims, red_strides;
  int64_t n_out = 1, n_red = 1;
};

int64_t offset_of(int64_t flat, const std::vector<int64_t>& dims, const std::vector<int64_t>& strides) {
  int64_t off = 0;
  for (int64_t d = int64_t(dims.size()) - 1; d >= 0 && flat; --d) {
    off += (flat % dims[d]) * strides[d];
    flat /= dims[d];
  }
  return off;
}

// Long reductions are cut into chunks of this many elements, reduced
// separately and combined in order. Every code path below uses the same
// chunks, so the result never depends on the path or the thread count.
constexpr int64_t kChunk = 16384;

template <typename T>
void run(Reduce op, const Tensor& x, const Plan& p, const Tensor& out) {
  using A = Acc<T>;
  const Op<T, A> f{op};
  const T* base = x.data<T>();
  T* o = out.data<T>();
  auto finish = [&](A v) -> T {
    if (op != Reduce::mean) return T(v);
    if constexpr (std::is_floating_point<T>::value) return T(v / A(p.n_red));
    else return p.n_red ? T(v / A(p.n_red)) : T(0);
  };
  if (p.n_out == 0) return;
  if (p.n_red == 0) {
    for (int64_t i = 0; i < p.n_out; ++i) o[i] = finish(f.init());
    return;
  }
  const int64_t chunks = (p.n_red + kChunk - 1) / kChunk;
  const std::vector<int64_t> rd(p.red_dims.begin(), p.red_dims.end() - 1), rs(p.red_strides.begin(), p.red_strides.end() - 1);
  const int64_t last = p.red_dims.back(), st = p.red_strides.back();

  // Chunk c of the reduction for the output whose first element is at `ob`.
  auto reduce_chunk = [&](int64_t ob, int64_t c) -> A {
    A acc = f.init();
    for (int64_t r = c * kChunk, r1 = std::min(p.n_red, (c + 1) * kChunk); r < r1;) {
      const T* row = base + ob + offset_of(r / last, rd, rs);
      const int64_t j0 = r % last, j1 = std::min(last, j0 + (r1 - r));
      if (st == 1 && (op == Reduce::sum || op == Reduce::mean)) {
        // Eight independent partial sums (combined in a fixed order): one
        // serial chain is bound by the add latency, not by memory.
        A lane[8] = {};
        int64_t j = j0;
        for (; j + 8 <= j1; j += 8)
          for (int k = 0; k < 8; ++k) lane[k] += A(row[j + k]);
        for (; j < j1; ++j) lane[0] += A(row[j]);
        acc += ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
      } else if (st == 1)
        for (int64_t j = j0; j < j1; ++j) acc = f(acc, A(row[j]));
      else
        for (int64_t j = j0; j < j1; ++j) acc = f(acc, A(row[j * st]));
      r += j1 - j0;
    }
    return acc;
  };

  if (chunks > 1 && p.n_out < 8) {
    // Few long reductions: the chunks themselves are the parallel work.
    std::vector<A> partial(size_t(p.n_out * chunks));
    parallel_for(0, p.n_out * chunks, 1, [&](int64_t a, int64_t b) {
      for (int64_t t = a; t < b; ++t) partial[t] = reduce_chunk(offset_of(t / chunks, p.kept_dims, p.kept_strides), t % chunks);
    });
    for (int64_t i = 0; i < p.n_out; ++i) {
      A acc = partial[i * chunks];
      for (int64_t c = 1; c < chunks; ++c) acc = f(acc, partial[i * chunks + c]);
      o[i] = finish(acc);
    }
    return;
  }
  if (!p.kept_dims.empty() && p.kept_strides.back() == 1 && st != 1) {
    // The kept dims are the contiguous ones (e.g. a bias gradient: sum over
    // rows): walk the reduced index outside and a block of outputs inside,
    // so memory is read in order.
    const int64_t width = p.kept_dims.back(), groups = p.n_out / width, block = 256;
    const int64_t nblocks = (width + block - 1) / block;
    parallel_for(0, groups * nblocks, std::max<int64_t>(1, kChunk / (block * p.n_red)), [&](int64_t a, int64_t b) {
      std::vector<A> acc(block), part(block);
      for (int64_t t = a; t < b; ++t) {
        const int64_t g = t / nblocks, j0 = (t % nblocks) * block, n = std::min(width, j0 + block) - j0;
        const T* col = base + offset_of(g * width, p.kept_dims, p.kept_strides) + j0;
        for (int64_t c = 0; c < chunks; ++c) {
          std::fill(part.begin(), part.begin() + n, f.init());
          for (int64_t r = c * kChunk, r1 = std::min(p.n_red, (c + 1) * kChunk); r < r1; ++r) {
            const T* row = col + offset_of(r, p.red_dims, p.red_strides);
            for (int64_t j = 0; j < n; ++j) part[j] = f(part[j], A(row[j]));
          }
          for (int64_t j = 0; j < n; ++j) acc[j] = c ? f(acc[j], part[j]) : part[j];
        }
        for (int64_t j = 0; j < n; ++j) o[g * width + j0 + j] = finish(acc[j]);
      }
    });
    return;
  }
  parallel_for(0, p.n_out, std::max<int64_t>(1, kChunk / p.n_red), [&](int64_t a, int64_t b) {
    for (int64_t i = a; i < b; ++i) {
      const int64_t ob = offset_of(i, p.kept_dims, p.kept_strides);
      A acc = reduce_chunk(ob, 0);
      for (int64_t c = 1; c < chunks; ++c) acc = f(acc, reduce_chunk(ob, c));
      o[i] = finish(acc);
    }
  });
}

std::vector<bool> axis_mask(const Tensor& x, std::vector<int>& axes, const char* name) {
  std::vector<bool> red(x.ndim(), false);
  for (int& a : axes) {
    const int orig = a;
    if (a < 0) a += x.ndim();
    TT_CHECK(a >= 0 && a < x.ndim(), name, ": axis ", orig, " is out of range for a tensor of shape ", x.shape);
    TT_CHECK(!red[a], name, ": axis ", orig, " is repeated");
    red[a] = true;
  }
  return red;
}

}  // namespace

Tensor reduce(Reduce op, const Tensor& x, std::vector<int> axes, bool keepdims) {
  const char* name = reduce_name(op);
  const std::vector<bool> red = axis_mask(x, axes, name);
  if (op == Reduce::any || op == Reduce::all)
    TT_TYPE_CHECK(x.dtype == DType::b8, name, ": expected a bool tensor, got ", dtype_name(x.dtype));
  else
    TT_TYPE_CHECK(x.dtype != DType::b8, name, ": expected a numeric tensor, got bool");
  Plan p;
  Shape out_shape;
  for (int d = 0; d < x.ndim(); ++d) {
    if (red[d]) {
      p.red_dims.push_back(x.shape[d]);
      p.red_strides.push_back(x.strides[d]);
      p.n_red *= x.shape[d];
      if (keepdims) out_shape.push_back(1);
    } else {
      p.kept_dims.push_back(x.shape[d]);
      p.kept_strides.push_back(x.strides[d]);
      p.n_out *= x.shape[d];
      out_shape.push_back(x.shape[d]);
    }
  }
  if (p.red_dims.empty()) {  // nothing to reduce: a copy, through the same code
    p.red_dims.push_back(1);
    p.red_strides.push_back(0);
  }
  TT_CHECK(!((op == Reduce::max || op == Reduce::min) && p.n_red == 0 && p.n_out > 0 && !is_floating(x.dtype)), name,
           ": cannot reduce an empty axis of an integer tensor (shape ", x.shape, ")");
  Tensor out = Tensor::empty(out_shape, x.dtype);
  TT_DISPATCH_ALL(x.dtype, name, [&](auto tag) { run<decltype(tag)>(op, x, p, out); });
  return out;
}

Tensor arg_reduce(bool is_max, const Tensor& x, int axis, DType out_dtype) {
  const char* name = is_max ? "argmax" : "argmin";
  std::vector<int> axes{axis};
  axis_mask(x, axes, name);
  const int ax = axes[0];
  TT_CHECK(x.shape[ax] > 0, name, ": cannot take ", name, " over an empty axis (shape ", x.shape, ")");
  TT_TYPE_CHECK(out_dtype == DType::i32 || out_dtype == DType::i64, name, ": output_type must be int32 or int64");
  TT_TYPE_CHECK(x.dtype != DType::b8, name, ": expected a numeric tensor, got bool");
  Shape out_shape, kd, ks;
  for (int d = 0; d < x.ndim(); ++d)
    if (d != ax) {
      out_shape.push_back(x.shape[d]);
      kd.push_back(x.shape[d]);
      ks.push_back(x.strides[d]);
    }
  Tensor out = Tensor::empty(out_shape, out_dtype);
  const int64_t n = x.shape[ax], st = x.strides[ax], n_out = out.numel();
  TT_DISPATCH_ALL(x.dtype, name, [&](auto tag) {
    using T = decltype(tag);
    const T* base = x.data<T>();
    parallel_for(0, n_out, std::max<int64_t>(1, kChunk / n), [&](int64_t a, int64_t b) {
      for (int64_t i = a; i < b; ++i) {
        const T* p = base + offset_of(i, kd, ks);
        int64_t best = 0;
        T bv = p[0];
        for (int64_t j = 1; j < n; ++j) {
          const T v = p[j * st];
          bool better = is_max ? v > bv : v < bv;
          if constexpr (std::is_floating_point<T>::value) {
            if (std::isnan(bv)) better = false;  // the first NaN wins, as numpy
            else if (std::isnan(v)) better = true;
          }
          if (better) { best = j; bv = v; }
        }
        if (out_dtype == DType::i32) out.data<int32_t>()[i] = int32_t(best);
        else out.data<int64_t>()[i] = best;
      }
    });
  });
  return out;
}

Tensor sum_to_shape(const Tensor& x, const Shape& shape) {
  TT_CHECK(shape.size() <= x.shape.size(), "sum_to_shape: cannot sum shape ", x.shape, " to ", shape);
  const size_t lead = x.shape.size() - shape.size();
  std::vector<int> axes;
  for (size_t d = 0; d < x.shape.size(); ++d) {
    if (d < lead) { axes.push_back(int(d)); continue; }
    const int64_t want = shape[d - lead];
    TT_CHECK(want == x.shape[d] || want == 1, "sum_to_shape: cannot sum shape ", x.shape, " to ", shape);
    if (want == 1 && x.shape[d] != 1) axes.push_back(int(d));
  }
  if (axes.empty()) return x.reshape(shape);
  return reduce(Reduce::sum, x, axes, true).reshape(shape);
}

}  // namespace tt::kernels
