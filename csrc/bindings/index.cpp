// Gather / scatter-add, one_hot, concat, pad, tile.
#include <optional>

#include "../kernels/index.h"
#include "bindings.h"

namespace tt::bindings {

void bind_index(py::module_& m) {
  m.def(
      "gather",
      [](const Tensor& params, const Tensor& indices, std::optional<int> axis, int batch_dims) {
        return kernels::gather(params, indices, axis.value_or(batch_dims), batch_dims);
      },
      "tf.gather (axis None: batch_dims).", py::arg("params"), py::arg("indices"), py::arg("axis") = py::none(),
      py::arg("batch_dims") = 0, release_gil());
  m.def(
      "gather_backward",
      [](const Tensor& dy, const Tensor& indices, const Shape& params_shape, std::optional<int> axis, int batch_dims) {
        return kernels::gather_backward(dy, indices, params_shape, axis.value_or(batch_dims), batch_dims);
      },
      "Gradient of gather: zeros(params_shape) with dy scattered-added at indices (deterministic).",
      py::arg("dy"), py::arg("indices"), py::arg("params_shape"), py::arg("axis") = py::none(),
      py::arg("batch_dims") = 0, release_gil());
  m.def("one_hot", &kernels::one_hot, "tf.one_hot.", py::arg("indices"), py::arg("depth"), py::arg("on_value") = 1.0,
        py::arg("off_value") = 0.0, py::arg("axis") = -1, py::arg("dtype") = DType::f32, release_gil());
  m.def("concat", &kernels::concat, "tf.concat.", py::arg("tensors"), py::arg("axis"), release_gil());
  m.def("pad", &kernels::pad, "tf.pad; paddings: one [before, after] pair per axis.", py::arg("x"),
        py::arg("paddings"), py::arg("mode") = "CONSTANT", py::arg("constant_value") = 0.0, release_gil());
  m.def("tile", &kernels::tile, "tf.tile.", py::arg("x"), py::arg("multiples"), release_gil());
}

}  // namespace tt::bindings
