// Fused optimizer updates and gradient norms.
#include <optional>
#include <variant>

#include "../kernels/optim.h"
#include "bindings.h"

namespace tt::bindings {
namespace {

using kernels::TensorList;
using PerTensor = std::variant<double, std::vector<double>>;  // one value for all tensors, or one each

// A float means the same value for every tensor; the neutral value becomes "none".
std::vector<double> per_tensor(const PerTensor& v, size_t n, double neutral) {
  if (auto* list = std::get_if<std::vector<double>>(&v)) return *list;
  const double x = std::get<double>(v);
  return x == neutral ? std::vector<double>{} : std::vector<double>(n, x);
}

kernels::GradOptions grad_options(size_t n, const PerTensor& grad_scale, std::optional<double> clipvalue,
                                  const PerTensor& weight_decay) {
  return {per_tensor(grad_scale, n, 1.0), clipvalue.value_or(0.0), per_tensor(weight_decay, n, 0.0)};
}

const TensorList* opt_list(const std::optional<TensorList>& l) { return l ? &*l : nullptr; }

}  // namespace

void bind_optim(py::module_& m) {
  // Keyword-only options shared by every update (Keras' base optimizer):
  //   grad_scale:   float or one float per tensor multiplying the gradient (clipnorm /
  //                 global_clipnorm scales computed from l2_norms / global_norm)
  //   clipvalue:    None, or clip each scaled gradient element to [-clipvalue, clipvalue] (<= 0: off)
  //   weight_decay: float or one float per tensor; p -= p * weight_decay * lr before the step (AdamW)
#define TT_GRAD_OPTIONS                                                                       \
  py::kw_only(), py::arg("grad_scale") = 1.0, py::arg("clipvalue") = py::none(),              \
      py::arg("weight_decay") = 0.0, release_gil()
#define TT_GRAD_PARAMS const PerTensor &grad_scale, std::optional<double> clipvalue, const PerTensor &weight_decay
#define TT_GRAD_OPTS grad_options(params.size(), grad_scale, clipvalue, weight_decay)

  m.def(
      "sgd_update",
      [](const TensorList& params, const TensorList& grads, const std::optional<TensorList>& momentums, double lr,
         double momentum, bool nesterov, TT_GRAD_PARAMS) {
        kernels::sgd_update(params, grads, opt_list(momentums), lr, momentum, nesterov, TT_GRAD_OPTS);
      },
      "In place: Keras SGD on every params[i]; momentums (None when momentum == 0) are updated too.",
      py::arg("params"), py::arg("grads"), py::arg("momentums"), py::arg("lr"), py::arg("momentum") = 0.0,
      py::arg("nesterov") = false, TT_GRAD_OPTIONS);

  m.def(
      "adam_update",
      [](const TensorList& params, const TensorList& grads, const TensorList& mm, const TensorList& v,
         const std::optional<TensorList>& vhat, double lr, double beta_1, double beta_2, double epsilon, int64_t step,
         TT_GRAD_PARAMS) {
        kernels::adam_update(params, grads, mm, v, opt_list(vhat), lr, beta_1, beta_2, epsilon, step, TT_GRAD_OPTS);
      },
      "In place: Keras Adam (vhat given: amsgrad; weight_decay: AdamW). step is the 1-based iteration.",
      py::arg("params"), py::arg("grads"), py::arg("m"), py::arg("v"), py::arg("vhat"), py::arg("lr"),
      py::arg("beta_1"), py::arg("beta_2"), py::arg("epsilon"), py::arg("step"), TT_GRAD_OPTIONS);

  m.def(
      "rmsprop_update",
      [](const TensorList& params, const TensorList& grads, const TensorList& velocities,
         const std::optional<TensorList>& momentums, const std::optional<TensorList>& average_grads, double lr,
         double rho, double momentum, double epsilon, TT_GRAD_PARAMS) {
        kernels::rmsprop_update(params, grads, velocities, opt_list(momentums), opt_list(average_grads), lr, rho,
                                momentum, epsilon, TT_GRAD_OPTS);
      },
      "In place: Keras RMSprop (momentums: None when momentum == 0; average_grads: centered).", py::arg("params"),
      py::arg("grads"), py::arg("velocities"), py::arg("momentums"), py::arg("average_grads"), py::arg("lr"),
      py::arg("rho"), py::arg("momentum"), py::arg("epsilon"), TT_GRAD_OPTIONS);

  m.def(
      "adagrad_update",
      [](const TensorList& params, const TensorList& grads, const TensorList& accumulators, double lr, double epsilon,
         TT_GRAD_PARAMS) { kernels::adagrad_update(params, grads, accumulators, lr, epsilon, TT_GRAD_OPTS); },
      "In place: Keras Adagrad.", py::arg("params"), py::arg("grads"), py::arg("accumulators"), py::arg("lr"),
      py::arg("epsilon"), TT_GRAD_OPTIONS);

  m.def(
      "adadelta_update",
      [](const TensorList& params, const TensorList& grads, const TensorList& accumulated_grads,
         const TensorList& accumulated_deltas, double lr, double rho, double epsilon, TT_GRAD_PARAMS) {
        kernels::adadelta_update(params, grads, accumulated_grads, accumulated_deltas, lr, rho, epsilon,
                                 TT_GRAD_OPTS);
      },
      "In place: Keras Adadelta.", py::arg("params"), py::arg("grads"), py::arg("accumulated_grads"),
      py::arg("accumulated_deltas"), py::arg("lr"), py::arg("rho"), py::arg("epsilon"), TT_GRAD_OPTIONS);

  m.def(
      "nadam_update",
      [](const TensorList& params, const TensorList& grads, const TensorList& mm, const TensorList& v, double lr,
         double beta_1, double beta_2, double epsilon, int64_t step, double u_product, TT_GRAD_PARAMS) {
        return kernels::nadam_update(params, grads, mm, v, lr, beta_1, beta_2, epsilon, step, u_product,
                                     TT_GRAD_OPTS);
      },
      "In place: Keras Nadam. u_product: the momentum-cache product before this step (1.0 before the first);\n"
      "returns the product after it, to pass to the next step.",
      py::arg("params"), py::arg("grads"), py::arg("m"), py::arg("v"), py::arg("lr"), py::arg("beta_1"),
      py::arg("beta_2"), py::arg("epsilon"), py::arg("step"), py::arg("u_product"), TT_GRAD_OPTIONS);

#undef TT_GRAD_OPTIONS
#undef TT_GRAD_PARAMS
#undef TT_GRAD_OPTS

  m.def("l2_norms", &kernels::l2_norms, "L2 norm of each tensor (bitwise the same for any thread count).",
        py::arg("tensors"), release_gil());
  m.def("global_norm", &kernels::global_norm, "sqrt of the sum of squares of all elements of all tensors.",
        py::arg("tensors"), release_gil());
}

}  // namespace tt::bindings
