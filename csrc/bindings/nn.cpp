// Softmax, cross-entropies, batch/layer normalisation and dropout (kernels/nn.h).
#include "../kernels/nn.h"
#include "bindings.h"

namespace tt::bindings {
namespace {

const Tensor* opt(const std::optional<Tensor>& t) { return t ? &*t : nullptr; }

py::tuple loss_tuple(const kernels::LossGrad& r) { return py::make_tuple(r.loss, r.dlogits); }
py::tuple norm_tuple(const kernels::NormForward& r) { return py::make_tuple(r.y, r.mean, r.var_or_rstd); }
py::tuple grads_tuple(const kernels::NormGrads& r) { return py::make_tuple(r.dx, r.dgamma, r.dbeta); }

// Runs a kernel without the GIL, then builds the Python tuple with it.
template <typename F>
auto nogil(const F& f) {
  py::gil_scoped_release release;
  return f();
}

}  // namespace

void bind_nn(py::module_& m) {
  m.def("softmax", &kernels::softmax, py::arg("x"), py::arg("axis") = -1, release_gil());
  m.def("log_softmax", &kernels::log_softmax, py::arg("x"), py::arg("axis") = -1, release_gil());
  m.def("softmax_backward", &kernels::softmax_backward, py::arg("y"), py::arg("dy"), py::arg("axis") = -1,
        release_gil());
  m.def("log_softmax_backward", &kernels::log_softmax_backward, py::arg("y"), py::arg("dy"), py::arg("axis") = -1,
        release_gil());

  m.def(
      "softmax_cross_entropy",
      [](const Tensor& logits, const Tensor& labels, int axis) {
        return loss_tuple(nogil([&] { return kernels::softmax_cross_entropy(logits, labels, axis); }));
      },
      py::arg("logits"), py::arg("labels"), py::arg("axis") = -1);
  m.def(
      "sparse_softmax_cross_entropy",
      [](const Tensor& logits, const Tensor& labels) {
        return loss_tuple(nogil([&] { return kernels::sparse_softmax_cross_entropy(logits, labels); }));
      },
      py::arg("logits"), py::arg("labels"));
  m.def(
      "sigmoid_cross_entropy",
      [](const Tensor& logits, const Tensor& labels) {
        return loss_tuple(nogil([&] { return kernels::sigmoid_cross_entropy(logits, labels); }));
      },
      py::arg("logits"), py::arg("labels"));

  m.def(
      "batch_norm_train",
      [](const Tensor& x, std::optional<Tensor> gamma, std::optional<Tensor> beta, double epsilon) {
        return norm_tuple(nogil([&] { return kernels::batch_norm_train(x, opt(gamma), opt(beta), epsilon); }));
      },
      py::arg("x"), py::arg("gamma"), py::arg("beta"), py::arg("epsilon") = 1e-3);
  m.def(
      "batch_norm_backward",
      [](const Tensor& x, const Tensor& dy, std::optional<Tensor> gamma, const Tensor& mean, const Tensor& var,
         double epsilon) {
        return grads_tuple(
            nogil([&] { return kernels::batch_norm_backward(x, dy, opt(gamma), mean, var, epsilon); }));
      },
      py::arg("x"), py::arg("dy"), py::arg("gamma"), py::arg("mean"), py::arg("var"), py::arg("epsilon") = 1e-3);
  m.def(
      "batch_norm_inference",
      [](const Tensor& x, const Tensor& mean, const Tensor& var, std::optional<Tensor> gamma,
         std::optional<Tensor> beta, double epsilon) {
        return kernels::batch_norm_inference(x, mean, var, opt(gamma), opt(beta), epsilon);
      },
      py::arg("x"), py::arg("mean"), py::arg("var"), py::arg("gamma"), py::arg("beta"), py::arg("epsilon") = 1e-3,
      release_gil());

  m.def(
      "layer_norm",
      [](const Tensor& x, std::optional<Tensor> gamma, std::optional<Tensor> beta, double epsilon, int axis_count) {
        return norm_tuple(nogil([&] { return kernels::layer_norm(x, opt(gamma), opt(beta), epsilon, axis_count); }));
      },
      py::arg("x"), py::arg("gamma"), py::arg("beta"), py::arg("epsilon") = 1e-3, py::arg("axis_count") = 1);
  m.def(
      "layer_norm_backward",
      [](const Tensor& x, const Tensor& dy, std::optional<Tensor> gamma, const Tensor& mean, const Tensor& rstd,
         int axis_count) {
        return grads_tuple(
            nogil([&] { return kernels::layer_norm_backward(x, dy, opt(gamma), mean, rstd, axis_count); }));
      },
      py::arg("x"), py::arg("dy"), py::arg("gamma"), py::arg("mean"), py::arg("rstd"), py::arg("axis_count") = 1);

  m.def(
      "dropout", [](const Tensor& x, double rate, uint64_t seed, uint64_t offset) {
        return kernels::dropout(x, rate, seed, offset);
      },
      py::arg("x"), py::arg("rate"), py::arg("seed"), py::arg("offset") = 0, release_gil());
  m.def(
      "dropout_with_factors",
      [](const Tensor& x, double rate, uint64_t seed, uint64_t offset) {
        Tensor factors;
        Tensor y = kernels::dropout(x, rate, seed, offset, &factors);
        return std::make_pair(y, factors);
      },
      py::arg("x"), py::arg("rate"), py::arg("seed"), py::arg("offset") = 0, release_gil());
}

}  // namespace tt::bindings
