#include "index.h"

#include <algorithm>
#include <cctype>
#include <string>

#include "../core/iter.h"

namespace tt::kernels {
namespace {

int64_t prod(const Shape& s, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t d = begin; d < end; ++d) n *= s[d];
  return n;
}

// Unsigned integer type of a given size, for dtype-agnostic element copies.
template <size_t N> struct Bits;
template <> struct Bits<1> { using type = uint8_t; };
template <> struct Bits<4> { using type = uint32_t; };
template <> struct Bits<8> { using type = uint64_t; };

template <typename F>
void dispatch_itemsize(DType d, const F& fn) {
  switch (itemsize(d)) {
    case 1: return fn(Bits<1>::type{});
    case 4: return fn(Bits<4>::type{});
    default: return fn(Bits<8>::type{});
  }
}

// ---- gather -----------------------------------------------------------------

// params viewed as [B, O, A, I] and indices as [B, J]; the output is [B, O, J, I].
struct GatherGeom {
  int64_t B, O, A, I, J;
  Shape out_shape;
};

GatherGeom gather_geometry(const char* op, const Shape& ps, const Tensor& indices, int axis, int batch_dims) {
  const int pr = int(ps.size()), ir = indices.ndim();
  TT_TYPE_CHECK(indices.dtype == DType::i32 || indices.dtype == DType::i64, op, ": indices must be int32 or int64, got ",
                dtype_name(indices.dtype));
  TT_CHECK(pr >= 1, op, ": params must have rank >= 1, got shape ", ps);
  for (int64_t d : ps) TT_CHECK(d >= 0, op, ": negative dimension in params shape ", ps);
  const int bd = batch_dims < 0 ? batch_dims + ir : batch_dims;
  TT_CHECK(bd >= 0 && bd <= ir && bd < pr, op, ": batch_dims=", batch_dims, " is out of range for indices of shape ",
           indices.shape, " and params of shape ", ps);
  const int ax = axis < 0 ? axis + pr : axis;
  TT_CHECK(ax >= 0 && ax < pr, op, ": axis ", axis, " is out of range for params of shape ", ps);
  TT_CHECK(ax >= bd, op, ": axis (", axis, ") must be >= batch_dims (", batch_dims, ")");
  for (int d = 0; d < bd; ++d)
    TT_CHECK(ps[d] == indices.shape[d], op, ": params shape ", ps, " and indices shape ", indices.shape,
             " differ in batch dimension ", d);
  GatherGeom g{prod(ps, 0, bd), prod(ps, bd, ax), ps[ax], prod(ps, ax + 1, pr), prod(indices.shape, bd, ir), {}};
  g.out_shape.assign(ps.begin(), ps.begin() + ax);
  g.out_shape.insert(g.out_shape.end(), indices.shape.begin() + bd, indices.shape.end());
  g.out_shape.insert(g.out_shape.end(), ps.begin() + ax + 1, ps.end());
  return g;
}

// Indices as contiguous int64, checked against [0, A) for every batch.
std::vector<int64_t> checked_indices(const char* op, const Tensor& indices, int64_t A, const Shape& ps, int axis) {
  const Tensor ic = indices.contiguous();
  std::vector<int64_t> idx(size_t(ic.numel()));
  if (ic.dtype == DType::i32)
    std::copy_n(ic.data<int32_t>(), idx.size(), idx.begin());
  else
    std::copy_n(ic.data<int64_t>(), idx.size(), idx.begin());
  for (size_t k = 0; k < idx.size(); ++k) {
    if (idx[k] >= 0 && idx[k] < A) continue;
    std::string pos;  // k unravelled, for the message
    for (int64_t d = indices.ndim() - 1, r = int64_t(k); d >= 0; --d) {
      pos = std::to_string(r % indices.shape[d]) + (pos.empty() ? "" : ", ") + pos;
      r /= indices.shape[d];
    }
    TT_INDEX_CHECK(false, op, ": indices[", pos, "] = ", idx[k], " is not in [0, ", A, ") (axis ", axis,
                   " of params with shape ", ps, ")");
  }
  return idx;
}

}  // namespace

Tensor gather(const Tensor& params, const Tensor& indices, int axis, int batch_dims) {
  const GatherGeom g = gather_geometry("gather", params.shape, indices, axis, batch_dims);
  const std::vector<int64_t> idx = checked_indices("gather", indices, g.A, params.shape, axis);
  const Tensor src = params.contiguous();
  Tensor out = Tensor::empty(g.out_shape, params.dtype);
  const int64_t rows = g.B * g.O * g.J, I = g.I;
  dispatch_itemsize(params.dtype, [&](auto tag) {
    using E = decltype(tag);
    const E* p = reinterpret_cast<const E*>(src.raw());
    E* o = reinterpret_cast<E*>(out.raw());
    auto src_row = [&](int64_t r) {
      const int64_t j = r % g.J, bo = r / g.J, b = bo / g.O;
      return p + (bo * g.A + idx[size_t(b * g.J + j)]) * I;
    };
    // Rows picked at random from a large params (a shuffled batch of a data
    // set) wait on memory, not arithmetic: a second thread pays from a quarter
    // of the elementwise grain, and rows of a cache line or more are each
    // requested kAhead rows before they are copied (the hardware prefetcher
    // then streams the rest); shorter ones would pay the index arithmetic twice.
    const int64_t ahead = int64_t(I * sizeof(E)) >= 64 ? 8 : 0;
    parallel_for(0, rows, std::max<int64_t>(1, kElementwiseGrain / 4 / std::max<int64_t>(I, 1)), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < std::min(r1, r0 + ahead); ++r) __builtin_prefetch(src_row(r));
      for (int64_t r = r0; r < r1; ++r) {
        if (r + ahead < r1 && ahead) __builtin_prefetch(src_row(r + ahead));
        std::copy_n(src_row(r), I, o + r * I);
      }
    });
  });
  return out;
}

Tensor gather_backward(const Tensor& dy, const Tensor& indices, const Shape& params_shape, int axis, int batch_dims) {
  const GatherGeom g = gather_geometry("gather_backward", params_shape, indices, axis, batch_dims);
  TT_CHECK(dy.shape == g.out_shape, "gather_backward: dy has shape ", dy.shape, ", expected ", g.out_shape,
           " (the gather output for params ", params_shape, " and indices ", indices.shape, ")");
  const std::vector<int64_t> idx = checked_indices("gather_backward", indices, g.A, params_shape, axis);
  const Tensor d = dy.contiguous();
  Tensor out = Tensor::empty(params_shape, dy.dtype);
  TT_DISPATCH_FLOAT(dy.dtype, "gather_backward", [&](auto tag) {
    using T = decltype(tag);
    const T* src = d.data<T>();
    T* dst = out.data<T>();
    const int64_t A = g.A, I = g.I, J = g.J;
    // Each thread owns a range of output rows (over all B*O slabs) and walks the
    // indices of the slabs it touches in order: no shared writes, fixed sum order.
    const int64_t work_per_row = std::max<int64_t>(1, I * (1 + J / std::max<int64_t>(A, 1)));
    parallel_for(0, g.B * g.O * A, std::max<int64_t>(1, kElementwiseGrain / work_per_row), [&](int64_t r0, int64_t r1) {
      std::fill(dst + r0 * I, dst + r1 * I, T(0));
      for (int64_t s = r0 / A; s * A < r1; ++s) {  // slab s = b*O + o
        const int64_t lo = std::max(r0 - s * A, int64_t(0)), hi = std::min(r1 - s * A, A);
        const int64_t* ix = idx.data() + (s / g.O) * J;
        for (int64_t j = 0; j < J; ++j) {
          if (ix[j] < lo || ix[j] >= hi) continue;
          T* o = dst + (s * A + ix[j]) * I;
          const T* x = src + (s * J + j) * I;
          for (int64_t i = 0; i < I; ++i) o[i] += x[i];
        }
      }
    });
  });
  return out;
}

// ---- one_hot ----------------------------------------------------------------

Tensor one_hot(const Tensor& indices, int64_t depth, double on_value, double off_value, int axis, DType dtype) {
  const int r = indices.ndim();
  TT_TYPE_CHECK(indices.dtype == DType::i32 || indices.dtype == DType::i64 || indices.dtype == DType::u8,
                "one_hot: indices must be int32, int64 or uint8, got ", dtype_name(indices.dtype));
  TT_CHECK(depth >= 0, "one_hot: depth must be non-negative, got ", depth);
  TT_CHECK(axis >= -1 && axis <= r, "one_hot: axis must be -1 or in [0, ", r, "] for indices of shape ",
           indices.shape, ", got ", axis);
  const int ax = axis == -1 ? r : axis;
  Shape shape = indices.shape;
  shape.insert(shape.begin() + ax, depth);
  Tensor out = Tensor::empty(shape, dtype);
  const Tensor ic = indices.to(DType::i64);
  const int64_t* idx = ic.data<int64_t>();
  const int64_t S = prod(indices.shape, ax, r), n = ic.numel();
  if (out.numel() == 0) return out;
  TT_DISPATCH_ALL(dtype, "one_hot", [&](auto tag) {
    using T = decltype(tag);
    const T on = T(on_value), off = T(off_value);
    T* o = out.data<T>();
    // Index k = p*S + s owns the output column out[p, :, s].
    parallel_for(0, n, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(depth, 1)), [&](int64_t k0, int64_t k1) {
      for (int64_t k = k0; k < k1; ++k) {
        T* col = o + (k / S) * depth * S + k % S;
        for (int64_t d = 0; d < depth; ++d) col[d * S] = d == idx[k] ? on : off;
      }
    });
  });
  return out;
}

// ---- concat -----------------------------------------------------------------

Tensor concat(const std::vector<Tensor>& tensors, int axis) {
  TT_CHECK(!tensors.empty(), "concat: expected at least one tensor");
  const Tensor& first = tensors[0];
  const int r = first.ndim();
  TT_CHECK(r >= 1, "concat: cannot concatenate scalars (tensor 0 has shape ", first.shape, ")");
  const int ax = axis < 0 ? axis + r : axis;
  TT_CHECK(ax >= 0 && ax < r, "concat: axis ", axis, " is out of range for tensors of rank ", r);
  Shape shape = first.shape;
  shape[ax] = 0;
  for (size_t k = 0; k < tensors.size(); ++k) {
    const Tensor& t = tensors[k];
    TT_TYPE_CHECK(t.dtype == first.dtype, "concat: tensor ", k, " has dtype ", dtype_name(t.dtype), ", expected ",
                  dtype_name(first.dtype), " like tensor 0");
    bool same = t.ndim() == r;
    for (int d = 0; same && d < r; ++d) same = d == ax || t.shape[d] == first.shape[d];
    TT_CHECK(same, "concat: tensor ", k, " has shape ", t.shape, ", which does not match tensor 0 of shape ",
             first.shape, " on every axis except axis ", axis);
    shape[ax] += t.shape[ax];
  }
  Tensor out = Tensor::empty(shape, first.dtype);
  int64_t start = 0;
  for (const Tensor& t : tensors) {
    Tensor part = out;  // the slice of `out` that receives t
    part.shape = t.shape;
    part.offset += start * out.strides[ax];
    if (t.numel()) copy_into(part, t);
    start += t.shape[ax];
  }
  return out;
}

// ---- pad and tile: a copy through per-axis index maps --------------------------

namespace {

// out[o_0, ..., o_n-1] = x[map_0[o_0], ..., map_n-1[o_n-1]], or `fill` where any
// map entry is negative. Maps hold valid indices of x (or -1) only.
template <typename T>
void mapped_copy(const Tensor& out, const Tensor& x, const std::vector<std::vector<int64_t>>& maps, T fill) {
  const int n = out.ndim();
  T* dst = out.data<T>();
  const T* src = x.data<T>();
  if (n == 0) {
    *dst = *src;
    return;
  }
  // The last axis as runs: a fill run, a broadcast run (one source element) or a
  // run of consecutive source elements.
  struct Run { int64_t start, len, src, step; };
  std::vector<Run> runs;
  for (int64_t k = 0; k < out.shape[n - 1]; ++k) {
    const int64_t m = maps[n - 1][size_t(k)];
    if (!runs.empty()) {
      Run& r = runs.back();
      if (m < 0 && r.src < 0) { ++r.len; continue; }
      if (m >= 0 && r.src >= 0 && r.len == 1 && (m == r.src || m == r.src + 1)) { r.step = m - r.src; ++r.len; continue; }
      if (m >= 0 && r.src >= 0 && r.len > 1 && m == r.src + r.step * r.len) { ++r.len; continue; }
    }
    runs.push_back({k, 1, m < 0 ? -1 : m, 1});
  }
  const int64_t xs = x.strides[n - 1], inner = out.shape[n - 1];
  // Outer axes: each output index's source offset (or -1 for fill) per axis.
  std::vector<std::vector<int64_t>> off(size_t(n - 1));
  for (int d = 0; d + 1 < n; ++d)
    for (int64_t m : maps[size_t(d)]) off[size_t(d)].push_back(m < 0 ? -1 : m * x.strides[d]);
  const int64_t rows = out.numel() / inner;
  parallel_for(0, rows, std::max<int64_t>(1, kElementwiseGrain / inner), [&](int64_t r0, int64_t r1) {
    std::vector<int64_t> c(size_t(n - 1));  // row r0's coordinates, then counted up
    for (int64_t d = n - 2, r = r0; d >= 0; --d) {
      c[size_t(d)] = r % out.shape[d];
      r /= out.shape[d];
    }
    for (int64_t r = r0; r < r1; ++r) {
      T* o = dst + r * inner;
      int64_t base = 0;
      bool filled = false;
      for (int d = 0; d + 1 < n; ++d) {
        const int64_t v = off[size_t(d)][size_t(c[size_t(d)])];
        filled |= v < 0;
        base += v;
      }
      if (filled) {
        std::fill_n(o, inner, fill);
      } else {
        const T* s = src + base;
        for (const Run& run : runs) {
          T* q = o + run.start;
          if (run.src < 0) std::fill_n(q, run.len, fill);
          else if (run.step == 0) std::fill_n(q, run.len, s[run.src * xs]);
          else if (xs == 1) std::copy_n(s + run.src, run.len, q);
          else for (int64_t k = 0; k < run.len; ++k) q[k] = s[(run.src + k) * xs];
        }
      }
      for (int d = n - 2; d >= 0 && ++c[size_t(d)] == out.shape[d]; --d) c[size_t(d)] = 0;
    }
  });
}

Tensor mapped(const Tensor& x, const Shape& shape, const std::vector<std::vector<int64_t>>& maps, double fill,
              const char* op) {
  Tensor out = Tensor::empty(shape, x.dtype);
  const Tensor xc = x.contiguous();  // mapped_copy marks fill with negative offsets: no negative strides
  TT_DISPATCH_ALL(x.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    mapped_copy<T>(out, xc, maps, T(fill));
  });
  return out;
}

}  // namespace

Tensor pad(const Tensor& x, const std::vector<std::pair<int64_t, int64_t>>& paddings, const std::string& mode,
           double constant_value) {
  std::string m = mode;
  for (char& ch : m) ch = char(std::toupper(static_cast<unsigned char>(ch)));
  TT_CHECK(m == "CONSTANT" || m == "REFLECT" || m == "SYMMETRIC",
           "pad: mode must be CONSTANT, REFLECT or SYMMETRIC, got '", mode, "'");
  TT_CHECK(int(paddings.size()) == x.ndim(), "pad: paddings must have one [before, after] pair per axis of x (",
           x.ndim(), " for shape ", x.shape, "), got ", paddings.size());
  Shape shape(x.shape.size());
  for (size_t d = 0; d < x.shape.size(); ++d) {
    const auto [before, after] = paddings[d];
    const int64_t dim = x.shape[d];
    TT_CHECK(before >= 0 && after >= 0, "pad: paddings must be non-negative, got [", before, ", ", after,
             "] for axis ", d);
    TT_CHECK(m != "REFLECT" || (before < dim && after < dim) || (before == 0 && after == 0), "pad: REFLECT paddings [",
             before, ", ", after, "] must be less than the dimension size ", dim, " (axis ", d, " of shape ", x.shape, ")");
    TT_CHECK(m != "SYMMETRIC" || (before <= dim && after <= dim), "pad: SYMMETRIC paddings [", before, ", ", after,
             "] must be no greater than the dimension size ", dim, " (axis ", d, " of shape ", x.shape, ")");
    TT_CHECK(!__builtin_add_overflow(dim, before, &shape[d]) && !__builtin_add_overflow(shape[d], after, &shape[d]),
             "pad: padded size of axis ", d, " overflows");
  }
  if (checked_numel(shape, itemsize(x.dtype)) == 0) return Tensor::empty(shape, x.dtype);
  std::vector<std::vector<int64_t>> maps(x.shape.size());
  for (size_t d = 0; d < x.shape.size(); ++d) {
    const int64_t before = paddings[d].first, dim = x.shape[d];
    for (int64_t o = 0; o < shape[d]; ++o) {
      int64_t i = o - before;  // position in x, possibly outside
      if (m == "REFLECT") i = i < 0 ? -i : (i >= dim ? 2 * (dim - 1) - i : i);
      if (m == "SYMMETRIC") i = i < 0 ? -i - 1 : (i >= dim ? 2 * dim - 1 - i : i);
      maps[d].push_back(i >= 0 && i < dim ? i : -1);
    }
  }
  return mapped(x, shape, maps, constant_value, "pad");
}

Tensor tile(const Tensor& x, const std::vector<int64_t>& multiples) {
  TT_CHECK(int(multiples.size()) == x.ndim(), "tile: multiples must have one entry per axis of x (", x.ndim(),
           " for shape ", x.shape, "), got ", multiples);
  Shape shape(x.shape.size());
  for (size_t d = 0; d < x.shape.size(); ++d) {
    TT_CHECK(multiples[d] >= 0, "tile: multiples must be non-negative, got ", multiples);
    TT_CHECK(!__builtin_mul_overflow(x.shape[d], multiples[d], &shape[d]), "tile: tiled size of axis ", d,
             " overflows");
  }
  if (checked_numel(shape, itemsize(x.dtype)) == 0) return Tensor::empty(shape, x.dtype);
  std::vector<std::vector<int64_t>> maps(x.shape.size());
  for (size_t d = 0; d < x.shape.size(); ++d)
    for (int64_t o = 0; o < shape[d]; ++o) maps[d].push_back(o % x.shape[d]);
  return mapped(x, shape, maps, 0.0, "tile");
}

}  // namespace tt::kernels
