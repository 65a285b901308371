#include "tensor.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>

#include "iter.h"

namespace tt {

int64_t checked_numel(const Shape& shape, size_t itemsize) {
  int64_t n = 1;
  bool overflow = false;
  for (int64_t d : shape) {
    TT_CHECK(d >= 0, "negative dimension in shape ", shape);
    overflow |= __builtin_mul_overflow(n, d, &n);
  }
  int64_t bytes = 0;
  overflow |= __builtin_mul_overflow(n, int64_t(itemsize), &bytes);
  if (overflow) throw memory_error(detail::cat("tinytf: shape ", shape, " is too large to allocate"));
  return n;
}

Shape contiguous_strides(const Shape& shape) {
  Shape s(shape.size());
  int64_t acc = 1;
  for (int64_t d = int64_t(shape.size()) - 1; d >= 0; --d) {
    s[d] = acc;
    acc *= std::max<int64_t>(shape[d], 1);
  }
  return s;
}

Tensor Tensor::empty(Shape shape, DType dtype) {
  int64_t n = checked_numel(shape, itemsize(dtype));
  Tensor t;
  t.storage = Storage::allocate(size_t(n) * itemsize(dtype));
  t.dtype = dtype;
  t.strides = contiguous_strides(shape);
  t.shape = std::move(shape);
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  std::memset(t.raw(), 0, t.nbytes());
  return t;
}

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

int64_t Tensor::dim(int axis) const {
  int a = axis < 0 ? axis + ndim() : axis;
  TT_INDEX_CHECK(a >= 0 && a < ndim(), "axis ", axis, " is out of range for a tensor of rank ", ndim());
  return shape[a];
}

bool Tensor::is_contiguous() const {
  if (numel() == 0) return true;
  int64_t acc = 1;
  for (int64_t d = ndim() - 1; d >= 0; --d) {
    if (shape[d] != 1 && strides[d] != acc) return false;
    acc *= shape[d];
  }
  return true;
}

Tensor Tensor::reshape(Shape ns) const {
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < ns.size(); ++i) {
    if (ns[i] == -1) {
      TT_CHECK(infer < 0, "reshape: only one dimension can be -1, got ", ns);
      infer = int64_t(i);
    } else {
      TT_CHECK(ns[i] >= 0, "reshape: negative dimension in shape ", ns);
      known *= ns[i];
    }
  }
  const int64_t n = numel();
  if (infer >= 0) {
    TT_CHECK(known != 0 && n % known == 0, "reshape: cannot reshape a tensor of shape ", shape, " (", n,
             " elements) into shape ", ns);
    ns[infer] = n / known;
  } else {
    TT_CHECK(known == n, "reshape: cannot reshape a tensor of shape ", shape, " (", n,
             " elements) into shape ", ns, " (", known, " elements)");
  }
  Tensor t = *this;
  t.shape = ns;
  if (is_contiguous()) {
    t.strides = contiguous_strides(ns);
    return t;
  }
  // A view when each group of old dims that makes up a group of new dims is
  // laid out contiguously (numpy's no-copy reshape); otherwise a copy.
  Shape os, ost;  // old dims without the size-1 ones
  for (int d = 0; d < ndim(); ++d)
    if (shape[d] != 1) { os.push_back(shape[d]); ost.push_back(strides[d]); }
  t.strides.assign(ns.size(), 0);
  size_t oi = 0, ni = 0;
  bool ok = n != 0;
  while (ok && ni < ns.size()) {
    if (ns[ni] == 1) { t.strides[ni] = 1; ++ni; continue; }
    if (oi >= os.size()) { ok = false; break; }
    int64_t op = os[oi], np_ = ns[ni];
    size_t o0 = oi, n0 = ni;
    while (op != np_) {
      if (op < np_) { if (++oi >= os.size()) { ok = false; break; } op *= os[oi]; }
      else { if (++ni >= ns.size()) { ok = false; break; } np_ *= ns[ni]; }
    }
    if (!ok) break;
    for (size_t k = o0; k < oi; ++k) ok &= ost[k] == ost[k + 1] * os[k + 1];
    int64_t st = ost[oi];
    for (size_t k = ni + 1; k-- > n0;) {
      t.strides[k] = st;
      st *= ns[k];
    }
    ++oi; ++ni;
  }
  if (ok && oi == os.size()) return t;
  return contiguous().reshape(ns);
}

Tensor Tensor::permute(const std::vector<int>& axes) const {
  TT_CHECK(int(axes.size()) == ndim(), "transpose: perm ", axes, " does not match a tensor of rank ", ndim());
  std::vector<bool> seen(ndim(), false);
  Tensor t = *this;
  for (int i = 0; i < ndim(); ++i) {
    int a = axes[i] < 0 ? axes[i] + ndim() : axes[i];
    TT_CHECK(a >= 0 && a < ndim() && !seen[a], "transpose: perm ", axes, " is not a permutation of ", ndim(), " axes");
    seen[a] = true;
    t.shape[i] = shape[a];
    t.strides[i] = strides[a];
  }
  return t;
}

Tensor Tensor::slice(int64_t start, int64_t stop, int64_t step) const {
  TT_CHECK(ndim() >= 1, "slice: cannot slice a scalar");
  TT_CHECK(step > 0, "slice: step must be positive, got ", step);
  TT_INDEX_CHECK(start >= 0 && stop <= shape[0] && start <= std::max(stop, start),
                 "slice: [", start, ":", stop, "] is out of range for leading dimension ", shape[0]);
  Tensor t = *this;
  t.shape[0] = stop > start ? (stop - start + step - 1) / step : 0;
  t.strides[0] = strides[0] * step;
  if (t.shape[0] > 0) t.offset += start * strides[0];
  return t;
}

Tensor Tensor::strided_view(const Shape& starts, const Shape& lengths, const Shape& steps) const {
  TT_CHECK(int(starts.size()) == ndim() && lengths.size() == starts.size() && steps.size() == starts.size(),
           "strided_slice: expected one (start, length, step) per axis of shape ", shape);
  Tensor t = *this;
  for (int d = 0; d < ndim(); ++d) {
    TT_CHECK(steps[d] != 0, "strided_slice: step must be non-zero");
    TT_CHECK(lengths[d] >= 0, "strided_slice: negative length");
    if (lengths[d] == 0) { t.shape[d] = 0; continue; }
    const int64_t last = starts[d] + (lengths[d] - 1) * steps[d];
    TT_INDEX_CHECK(starts[d] >= 0 && starts[d] < shape[d] && last >= 0 && last < shape[d], "strided_slice: index ",
                   starts[d], " (", lengths[d], " steps of ", steps[d], ") is out of range for dimension ", d,
                   " of size ", shape[d]);
    t.offset += starts[d] * strides[d];
    t.shape[d] = lengths[d];
    t.strides[d] = strides[d] * steps[d];
  }
  return t;
}

Tensor Tensor::expand(const Shape& to) const {
  TT_CHECK(broadcast_shapes(shape, to, "broadcast_to") == to, "broadcast_to: cannot broadcast shape ", shape, " to ", to);
  Tensor t = *this;
  t.shape = to;
  t.strides.assign(to.size(), 0);
  const size_t shift = to.size() - shape.size();
  for (size_t d = 0; d < shape.size(); ++d)
    if (shape[d] == to[d + shift]) t.strides[d + shift] = strides[d];
  return t;
}

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

Tensor Tensor::clone() const {
  Tensor t = empty(shape, dtype);
  copy_into(t, *this);
  return t;
}

Tensor Tensor::to(DType dt) const {
  Tensor t = empty(shape, dt);
  copy_into(t, *this);
  return t;
}

namespace {
template <typename D, typename S>
void copy_rows(const Tensor& dst, const Tensor& src) {
  for_each_row<2>(dst.shape, {&dst.strides, &src.strides}, {int64_t(sizeof(D)), int64_t(sizeof(S))},
                  {dst.raw(), src.raw()}, kElementwiseGrain, [](char** p, int64_t n, const int64_t* s) {
                    if (std::is_same<D, S>::value && s[0] == int64_t(sizeof(D)) && s[1] == s[0]) {
                      std::memcpy(p[0], p[1], size_t(n) * sizeof(D));
                      return;
                    }
                    for (int64_t i = 0; i < n; ++i)
                      *reinterpret_cast<D*>(p[0] + i * s[0]) = static_cast<D>(*reinterpret_cast<const S*>(p[1] + i * s[1]));
                  });
}
}  // namespace

void copy_into(const Tensor& dst, const Tensor& src) {
  TT_CHECK(dst.shape == src.shape, "copy: shape mismatch ", dst.shape, " vs ", src.shape);
  TT_DISPATCH_ALL(dst.dtype, "copy", [&](auto d) {
    TT_DISPATCH_ALL(src.dtype, "copy", [&](auto s) { copy_rows<decltype(d), decltype(s)>(dst, src); });
  });
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t x = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t y = i < n - b.size() ? 1 : b[i - (n - b.size())];
    TT_CHECK(x == y || x == 1 || y == 1, op, ": shapes ", a, " and ", b, " are not broadcastable");
    out[i] = x == 1 ? y : x;
  }
  return out;
}

}  // namespace tt
