// Walks N operands of one broadcast shape, row by row. Dimensions that are
// size 1 or laid out back to back in every operand are merged first, so a
// contiguous tensor is a single row. Kernels supply only the inner loop:
//   for_each_row<2>(shape, {&out.strides, &in.strides}, {isz_out, isz_in},
//                   {out.raw(), in.raw()}, grain,
//                   [](char** p, int64_t n, const int64_t* s) { ... });
// `s` are the operands' byte strides along the row.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "parallel.h"
#include "tensor.h"

namespace tt {

template <int N>
struct RowLoop {
  std::vector<int64_t> dims;                    // merged dims, innermost last
  std::vector<std::array<int64_t, N>> strides;  // byte strides per merged dim
  int64_t rows = 1, inner = 1;

  RowLoop(const Shape& shape, const std::array<const Shape*, N>& st, const std::array<int64_t, N>& isz) {
    for (size_t d = 0; d < shape.size(); ++d) {
      if (shape[d] == 1) continue;
      std::array<int64_t, N> s;
      for (int k = 0; k < N; ++k) s[k] = (*st[k])[d] * isz[k];
      if (!dims.empty()) {
        bool merge = true;
        for (int k = 0; k < N; ++k) merge &= strides.back()[k] == s[k] * shape[d];
        if (merge) { dims.back() *= shape[d]; strides.back() = s; continue; }
      }
      dims.push_back(shape[d]);
      strides.push_back(s);
    }
    for (int64_t v : shape) if (v == 0) { rows = 0; return; }
    if (dims.empty()) { dims.push_back(1); strides.push_back({}); }
    inner = dims.back();
    for (size_t d = 0; d + 1 < dims.size(); ++d) rows *= dims[d];
  }

  void row_pointers(int64_t r, char* const* base, char** p) const {
    for (int k = 0; k < N; ++k) p[k] = base[k];
    for (int64_t d = int64_t(dims.size()) - 2; d >= 0 && r; --d) {
      int64_t i = r % dims[d];
      r /= dims[d];
      for (int k = 0; k < N; ++k) p[k] += i * strides[d][k];
    }
  }
};

// Rows longer than `grain_elems` are cut into fixed chunks of that many
// elements, so one long contiguous row (a whole contiguous tensor) still
// spreads over the threads. Chunk bounds never depend on the thread count.
template <int N, typename F>
void for_each_row(const Shape& shape, const std::array<const Shape*, N>& st, const std::array<int64_t, N>& isz,
                  std::array<char*, N> base, int64_t grain_elems, const F& fn) {
  RowLoop<N> L(shape, st, isz);
  if (L.rows == 0) return;
  const int64_t chunk = std::max<int64_t>(grain_elems, 1);
  const int64_t per_row = std::max<int64_t>(1, (L.inner + chunk - 1) / chunk);
  const int64_t grain = per_row > 1 ? 1 : std::max<int64_t>(1, chunk / std::max<int64_t>(L.inner, 1));
  const std::array<int64_t, N> s = L.strides.back();
  parallel_for(0, L.rows * per_row, grain, [&](int64_t i0, int64_t i1) {
    char* p[N];
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t c0 = (i % per_row) * chunk;  // 0 for rows of one chunk
      L.row_pointers(i / per_row, base.data(), p);
      for (int k = 0; k < N; ++k) p[k] += c0 * s[k];
      fn(p, std::min(chunk, L.inner - c0), s.data());
    }
  });
}

constexpr int64_t kElementwiseGrain = 32768;  // elements per thread before splitting pays

}  // namespace tt
