// Elementwise math, activations and their derivatives, reductions.
#include "../kernels/elementwise.h"
#include "../kernels/reduce.h"
#include "bindings.h"

namespace tt::bindings {

void bind_elementwise(py::module_& m) {
  using kernels::Binary;
  using kernels::Unary;
  auto u = py::enum_<Unary>(m, "Unary");
  for (int i = 0; i <= int(Unary::logical_not); ++i) u.value(kernels::unary_name(Unary(i)), Unary(i));
  auto b = py::enum_<Binary>(m, "Binary");
  for (int i = 0; i <= int(Binary::logical_xor); ++i) b.value(kernels::binary_name(Binary(i)), Binary(i));
  py::enum_<kernels::Reduce>(m, "Reduce")
      .value("sum", kernels::Reduce::sum)
      .value("mean", kernels::Reduce::mean)
      .value("max", kernels::Reduce::max)
      .value("min", kernels::Reduce::min)
      .value("prod", kernels::Reduce::prod)
      .value("any", kernels::Reduce::any)
      .value("all", kernels::Reduce::all);

  m.def("unary", &kernels::unary, py::arg("op"), py::arg("x"), py::arg("alpha") = 0.0, release_gil());
  m.def("binary", &kernels::binary, py::arg("op"), py::arg("a"), py::arg("b"), release_gil());
  m.def("where", &kernels::where, py::arg("cond"), py::arg("x"), py::arg("y"), release_gil());
  m.def("unary_grad", &kernels::unary_grad, py::arg("op"), py::arg("x"), py::arg("dy"), py::arg("alpha") = 0.0,
        py::arg("order") = 1, release_gil());
  m.def("reduce", &kernels::reduce, py::arg("op"), py::arg("x"), py::arg("axes"), py::arg("keepdims") = false,
        release_gil());
  m.def("arg_reduce", &kernels::arg_reduce, py::arg("is_max"), py::arg("x"), py::arg("axis"),
        py::arg("out_dtype") = DType::i64, release_gil());
  m.def("sum_to_shape", &kernels::sum_to_shape, py::arg("x"), py::arg("shape"), release_gil());
  m.def(
      "strided_view",
      [](const Tensor& t, const Shape& starts, const Shape& lengths, const Shape& steps) {
        return t.strided_view(starts, lengths, steps);
      },
      py::arg("t"), py::arg("starts"), py::arg("lengths"), py::arg("steps"));
}

}  // namespace tt::bindings
