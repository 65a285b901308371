// GEMM, matmul and the fused Dense kernels.
#include "../kernels/gemm.h"
#include "bindings.h"

namespace tt::bindings {

void bind_gemm(py::module_& m) {
  py::enum_<kernels::Act>(m, "Act")
      .value("none", kernels::Act::none)
      .value("relu", kernels::Act::relu)
      .value("relu6", kernels::Act::relu6)
      .value("sigmoid", kernels::Act::sigmoid)
      .value("tanh", kernels::Act::tanh);

  // In-place C = alpha op(A) op(B) + beta C on 2-D tensors whose rows are
  // contiguous (any row stride): exposes the raw kernel to tests and benches.
  m.def(
      "gemm",
      [](bool ta, bool tb, double alpha, const Tensor& A, const Tensor& B, double beta, const Tensor& C) {
        TT_CHECK(A.ndim() == 2 && B.ndim() == 2 && C.ndim() == 2, "gemm: expected 2-D tensors, got ", A.shape, ", ",
                 B.shape, ", ", C.shape);
        TT_TYPE_CHECK(A.dtype == B.dtype && A.dtype == C.dtype, "gemm: dtypes differ");
        for (const Tensor* t : {&A, &B, &C})
          TT_CHECK(t->strides[1] == 1 || t->shape[1] <= 1, "gemm: each operand's rows must be contiguous");
        const int64_t M = C.shape[0], N = C.shape[1], K = ta ? A.shape[0] : A.shape[1];
        TT_CHECK((ta ? A.shape[1] : A.shape[0]) == M && (tb ? B.shape[1] : B.shape[0]) == K &&
                     (tb ? B.shape[0] : B.shape[1]) == N,
                 "gemm: shapes ", A.shape, ", ", B.shape, " -> ", C.shape, " do not match");
        auto ld = [](const Tensor& t) { return std::max<int64_t>(t.strides[0], std::max<int64_t>(t.shape[1], 1)); };
        TT_DISPATCH_FLOAT(A.dtype, "gemm", [&](auto tag) {
          using T = decltype(tag);
          kernels::gemm<T>(ta, tb, M, N, K, T(alpha), A.data<T>(), ld(A), B.data<T>(), ld(B), T(beta), C.data<T>(),
                           ld(C));
        });
      },
      py::arg("trans_a"), py::arg("trans_b"), py::arg("alpha"), py::arg("A"), py::arg("B"), py::arg("beta"),
      py::arg("C"), release_gil());

  m.def("matmul", &kernels::matmul, py::arg("a"), py::arg("b"), py::arg("transpose_a") = false,
        py::arg("transpose_b") = false, release_gil());

  m.def(
      "dense",
      [](const Tensor& x, const Tensor& w, std::optional<Tensor> b, kernels::Act act) {
        return kernels::dense_forward(x, w, b ? &*b : nullptr, act);
      },
      py::arg("x"), py::arg("w"), py::arg("bias"), py::arg("act") = kernels::Act::none, release_gil());

  m.def(
      "dense_backward",
      [](const Tensor& x, const Tensor& w, const Tensor& y, const Tensor& dy, kernels::Act act, bool need_dx,
         bool need_db) {
        auto g = kernels::dense_backward(x, w, y, dy, act, need_dx, need_db);
        return py::make_tuple(need_dx ? py::cast(g.dx) : py::none(), g.dw, need_db ? py::cast(g.db) : py::none());
      },
      py::arg("x"), py::arg("w"), py::arg("y"), py::arg("dy"), py::arg("act"), py::arg("need_dx") = true,
      py::arg("need_db") = true);
}

}  // namespace tt::bindings
