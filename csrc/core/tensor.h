// Note [Tensor]: dtype + shape + strides (in elements) + offset over a
// shared Storage. Views (reshape of contiguous data, permute, slicing of the
// leading axis) share the Storage; everything else makes a new one.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "dtype.h"
#include "storage.h"

namespace tt {

using Shape = std::vector<int64_t>;

// Product of dims, checked: negative dims raise ValueError, a product (or byte
// size) that overflows raises MemoryError.
int64_t checked_numel(const Shape& shape, size_t itemsize = 1);
Shape contiguous_strides(const Shape& shape);

struct Tensor {
  std::shared_ptr<Storage> storage;
  DType dtype = DType::f32;
  Shape shape, strides;
  int64_t offset = 0;

  static Tensor empty(Shape shape, DType dtype);
  static Tensor zeros(const Shape& shape, DType dtype);

  int ndim() const { return int(shape.size()); }
  int64_t numel() const;
  int64_t dim(int axis) const;  // negative axes count from the end
  bool is_contiguous() const;
  size_t nbytes() const { return size_t(numel()) * itemsize(dtype); }

  char* raw() const { return static_cast<char*>(storage->data) + offset * int64_t(itemsize(dtype)); }
  template <typename T> T* data() const { return reinterpret_cast<T*>(raw()); }

  Tensor reshape(Shape new_shape) const;  // -1 infers one dim; a view when contiguous
  Tensor permute(const std::vector<int>& axes) const;
  Tensor slice(int64_t start, int64_t stop, int64_t step = 1) const;  // leading axis, normalised indices
  // A view with one (start, length, step) per axis: start in range, step
  // non-zero (negative walks backwards), as Python's slice.indices() gives.
  Tensor strided_view(const Shape& starts, const Shape& lengths, const Shape& steps) const;
  Tensor expand(const Shape& shape) const;  // broadcast view: stride 0 along broadcast dims
  Tensor contiguous() const;  // self when already contiguous
  Tensor clone() const;       // always a fresh contiguous copy
  Tensor to(DType dt) const;  // cast (a copy, also for the same dtype)
};

// dst[...] = src[...] for tensors of the same shape, any strides and dtypes.
void copy_into(const Tensor& dst, const Tensor& src);
// Broadcast `shape` against `other` as numpy does (raises on mismatch).
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

}  // namespace tt
