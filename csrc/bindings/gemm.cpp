// GEMM, matmul and the fused Dense kernels.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../kernels/gemm.h"
#include "../kernels/nn.h"
#include "bindings.h"

namespace tt::bindings {

namespace {

// act[i](x @ w[i] + b[i]) for n layers (act null: none), then with softmax a
// last-axis softmax, returned as (logits, probabilities).
py::object dense_stack(const Tensor& x, const Tensor* w, const std::optional<Tensor>* b, const kernels::Act* act,
                       size_t n, bool softmax) {
  Tensor y = x, logits;
  {
    py::gil_scoped_release unlocked;
    for (size_t i = 0; i < n; ++i)
      y = kernels::dense_forward(y, w[i], b[i] ? &*b[i] : nullptr, act ? act[i] : kernels::Act::none);
    if (softmax) logits = y, y = kernels::softmax(logits, -1);
  }
  return softmax ? py::object(py::make_tuple(logits, y)) : py::cast(y);
}

}  // namespace

void bind_gemm(py::module_& m) {
  py::enum_<kernels::Act>(m, "Act")
      .value("none", kernels::Act::none)
      .value("relu", kernels::Act::relu)
      .value("relu6", kernels::Act::relu6)
      .value("sigmoid", kernels::Act::sigmoid)
      .value("tanh", kernels::Act::tanh);

  // In-place C = act(alpha op(A) op(B) + beta C + bias) on 2-D tensors whose
  // rows are contiguous (any row stride): the raw kernel for tests, benches
  // and other kernels' Python prototypes.
  m.def(
      "gemm",
      [](bool ta, bool tb, double alpha, const Tensor& A, const Tensor& B, double beta, const Tensor& C,
         std::optional<Tensor> bias, kernels::Act act) {
        TT_CHECK(A.ndim() == 2 && B.ndim() == 2 && C.ndim() == 2, "gemm: expected 2-D A, B and C, got shapes ",
                 A.shape, ", ", B.shape, ", ", C.shape);
        TT_TYPE_CHECK(A.dtype == B.dtype && A.dtype == C.dtype && (!bias || bias->dtype == A.dtype),
                      "gemm: dtypes differ: A ", dtype_name(A.dtype), ", B ", dtype_name(B.dtype), ", C ",
                      dtype_name(C.dtype), bias ? ", bias " : "", bias ? dtype_name(bias->dtype) : "");
        const int64_t M = C.shape[0], N = C.shape[1], K = ta ? A.shape[0] : A.shape[1];
        TT_CHECK((ta ? A.shape[1] : A.shape[0]) == M && (tb ? B.shape[1] : B.shape[0]) == K &&
                     (tb ? B.shape[0] : B.shape[1]) == N,
                 "gemm: shapes do not match: A ", A.shape, (ta ? " (transposed)" : ""), ", B ", B.shape,
                 (tb ? " (transposed)" : ""), ", C ", C.shape);
        // Row stride of an operand with contiguous, non-overlapping rows.
        auto ld = [](const Tensor& t, const char* name) {
          const int64_t rows = t.shape[0], cols = t.shape[1];
          TT_CHECK((t.strides[1] == 1 || cols <= 1) && (t.strides[0] >= std::max<int64_t>(cols, 1) || rows <= 1),
                   "gemm: ", name, " of shape ", t.shape, " and strides ", t.strides,
                   " needs contiguous, non-overlapping rows");
          return rows <= 1 ? std::max<int64_t>(cols, 1) : t.strides[0];
        };
        const int64_t lda = ld(A, "A"), ldb = ld(B, "B"), ldc = ld(C, "C");
        if (bias)
          TT_CHECK(bias->ndim() == 1 && bias->shape[0] == N && (bias->strides[0] == 1 || N <= 1),
                   "gemm: bias must be a contiguous vector of length ", N, ", got shape ", bias->shape);
        // C is written while A, B and bias are read: they must not share memory.
        auto span = [](const Tensor& t, int64_t ldt) {  // bytes from the first to one past the last element
          const char* b = t.raw();
          const int64_t n = t.numel() == 0 ? 0 : t.ndim() == 1 ? t.shape[0] : (t.shape[0] - 1) * ldt + t.shape[1];
          return std::pair<const char*, const char*>(b, b + n * int64_t(itemsize(t.dtype)));
        };
        const auto c = span(C, ldc);
        auto overlaps = [&](std::pair<const char*, const char*> o) {  // empty spans overlap nothing
          return o.first < o.second && c.first < c.second && o.first < c.second && c.first < o.second;
        };
        TT_CHECK(!overlaps(span(A, lda)) && !overlaps(span(B, ldb)) && !(bias && overlaps(span(*bias, 1))),
                 "gemm: C must not overlap A, B or bias");
        TT_DISPATCH_FLOAT(A.dtype, "gemm", [&](auto tag) {
          using T = decltype(tag);
          kernels::gemm<T>(ta, tb, M, N, K, T(alpha), A.data<T>(), lda, B.data<T>(), ldb, T(beta), C.data<T>(), ldc,
                           bias ? bias->data<T>() : nullptr, act);
        });
      },
      py::arg("trans_a"), py::arg("trans_b"), py::arg("alpha"), py::arg("A"), py::arg("B"), py::arg("beta"),
      py::arg("C"), py::arg("bias") = py::none(), py::arg("act") = kernels::Act::none, release_gil());

  m.def(
      "fma_peak_gflops", [](const std::string& dtype, bool sustained) {
        TT_CHECK(dtype == "float32" || dtype == "float64", "fma_peak_gflops: dtype must be float32 or float64, got ",
                 dtype);
        return kernels::fma_peak_gflops(dtype == "float64", sustained);
      },
      py::arg("dtype") = "float32", py::arg("sustained") = false, release_gil(),
      "Measured FMA throughput (GFLOP/s) of the active ISA on the current thread count: the best of many short "
      "runs, or with sustained=True the median of a few ~0.1 s runs.");

  m.def("matmul", &kernels::matmul, py::arg("a"), py::arg("b"), py::arg("transpose_a") = false,
        py::arg("transpose_b") = false, release_gil());

  m.def(
      "dense",
      [](const Tensor& x, const Tensor& w, std::optional<Tensor> b, kernels::Act act) {
        return kernels::dense_forward(x, w, b ? &*b : nullptr, act);
      },
      py::arg("x"), py::arg("w"), py::arg("bias"), py::arg("act") = kernels::Act::none, release_gil());

  // Inference through Dense layers without a gradient tape. dense_softmax: one
  // layer with a softmax output; DenseChain: a stack, set up once from the
  // layers' weights (which are updated in place). With softmax a call returns
  // (logits, probabilities), the logits kept for the fused cross-entropies.
  m.def(
      "dense_softmax",
      [](const Tensor& x, const Tensor& w, std::optional<Tensor> b) {
        return dense_stack(x, &w, &b, nullptr, 1, true);
      },
      py::arg("x"), py::arg("w"), py::arg("bias"));
  py::class_<kernels::DenseStack>(m, "DenseChain")
      .def(py::init([](std::vector<Tensor> w, std::vector<std::optional<Tensor>> b, std::vector<kernels::Act> act,
                       bool softmax) {
             TT_CHECK(!w.empty() && b.size() == w.size() && act.size() == w.size(),
                      "DenseChain: expected one kernel, bias and activation per layer, got ", w.size(), ", ",
                      b.size(), " and ", act.size());
             return kernels::DenseStack{std::move(w), std::move(b), std::move(act), softmax};
           }),
           py::arg("kernels"), py::arg("biases"), py::arg("acts"), py::arg("softmax") = false)
      .def("__call__",
           [](const kernels::DenseStack& s, const Tensor& x) {
             return dense_stack(x, s.w.data(), s.b.data(), s.act.data(), s.w.size(), s.softmax);
           })
      // The same for a numpy array of the weights' dtype, C-contiguous and
      // aligned, read in place for this call only (the outputs are new
      // tensors), so with no keep-alive as from_numpy needs; None for any
      // other array.
      .def("call_array",
           [](const kernels::DenseStack& s, const py::array& a) -> py::object {
             const DType want = s.w.front().dtype;
             if (!readable_in_place(a) || a.dtype().kind() != 'f' || a.itemsize() != py::ssize_t(itemsize(want)))
               return py::none();
             return dense_stack(array_view(a, want, [] {}), s.w.data(), s.b.data(), s.act.data(), s.w.size(),
                                s.softmax);
           })
      // A training step's (loss, probabilities, [gradients]): see dense_stack_gradients.
      .def(
          "gradients",
          [](const kernels::DenseStack& s, const Tensor& x, const Tensor& labels, std::optional<Tensor> weights) {
            kernels::DenseStackGrads r;
            {
              py::gil_scoped_release unlocked;
              r = kernels::dense_stack_gradients(s, x, labels, weights ? &*weights : nullptr);
            }
            return py::make_tuple(r.loss, r.probs, r.grads);
          },
          py::arg("x"), py::arg("labels"), py::arg("weights") = py::none());

  m.def(
      "dense_backward",
      [](const Tensor& x, const Tensor& w, const Tensor& y, const Tensor& dy, kernels::Act act, bool need_dx,
         bool need_db) {
        kernels::DenseGrads g;
        {
          py::gil_scoped_release unlocked;
          g = kernels::dense_backward(x, w, y, dy, act, need_dx, need_db);
        }
        return py::make_tuple(need_dx ? py::cast(g.dx) : py::none(), g.dw, need_db ? py::cast(g.db) : py::none());
      },
      py::arg("x"), py::arg("w"), py::arg("y"), py::arg("dy"), py::arg("act"), py::arg("need_dx") = true,
      py::arg("need_db") = true);
}

}  // namespace tt::bindings
