// SimpleRNN / LSTM / GRU forward and backward (kernels/rnn.h).
#include <optional>
#include <string>

#include "../kernels/rnn.h"
#include "bindings.h"

namespace tt::bindings {
namespace {

// What the forward saves for the backward, opaque to Python.
struct RnnTape {
  std::shared_ptr<const kernels::RnnSaved> saved;
};

const Tensor* opt(const std::optional<Tensor>& t) { return t ? &*t : nullptr; }
py::object maybe(const Tensor& t) { return t.storage ? py::cast(t) : py::none(); }

kernels::RnnKind kind_of(const std::string& kind) {
  if (kind == "lstm") return kernels::RnnKind::lstm;
  if (kind == "gru") return kernels::RnnKind::gru;
  TT_CHECK(kind == "simple", "rnn: kind must be 'simple', 'lstm' or 'gru', got '", kind, "'");
  return kernels::RnnKind::simple;
}

}  // namespace

void bind_rnn(py::module_& m) {
  py::class_<RnnTape>(m, "RnnTape", "What rnn_forward keeps for rnn_backward.");
  m.def(
      "rnn_forward",
      [](const std::string& kind, const Tensor& x, const Tensor& kernel, const Tensor& recurrent_kernel,
         std::optional<Tensor> bias, std::optional<Tensor> h0, std::optional<Tensor> c0, std::optional<Tensor> mask,
         std::optional<Tensor> recurrent_dropout, kernels::Act activation, kernels::Act recurrent_activation,
         bool reset_after, bool go_backwards, bool return_sequences, bool zero_output_for_mask, bool keep) {
        kernels::RnnConfig cfg{kind_of(kind), activation, recurrent_activation, reset_after, go_backwards,
                               return_sequences, zero_output_for_mask};
        kernels::RnnForward r;
        {
          py::gil_scoped_release unlocked;
          r = kernels::rnn_forward(cfg, x, kernel, recurrent_kernel, opt(bias), opt(h0), opt(c0), opt(mask),
                                   opt(recurrent_dropout), keep);
        }
        return py::make_tuple(r.y, r.h, maybe(r.c), r.saved ? py::cast(RnnTape{r.saved}) : py::none());
      },
      "Runs a recurrent layer over (batch, time, features): returns (y, h, c or None, tape); the tape is None "
      "with keep=False (inference: nothing is saved for rnn_backward).",
      py::arg("kind"), py::arg("x"), py::arg("kernel"), py::arg("recurrent_kernel"), py::arg("bias") = py::none(),
      py::arg("h0") = py::none(), py::arg("c0") = py::none(), py::arg("mask") = py::none(),
      py::arg("recurrent_dropout") = py::none(), py::arg("activation") = kernels::Act::tanh,
      py::arg("recurrent_activation") = kernels::Act::sigmoid, py::arg("reset_after") = true,
      py::arg("go_backwards") = false, py::arg("return_sequences") = false, py::arg("zero_output_for_mask") = false,
      py::arg("keep") = true);
  m.def(
      "rnn_backward",
      [](const RnnTape& tape, std::optional<Tensor> dy, std::optional<Tensor> dh, std::optional<Tensor> dc,
         bool need_dx) {
        kernels::RnnGrads g;
        {
          py::gil_scoped_release unlocked;
          g = kernels::rnn_backward(*tape.saved, opt(dy), opt(dh), opt(dc), need_dx);
        }
        return py::make_tuple(maybe(g.dx), g.dkernel, g.drecurrent_kernel, maybe(g.dbias), maybe(g.dh0),
                              maybe(g.dc0));
      },
      "Gradients (dx or None, dkernel, drecurrent_kernel, dbias or None, dh0 or None, dc0 or None) from those of "
      "y, h and c (None: zero); dh0/dc0 only when the forward had initial states.",
      py::arg("tape"), py::arg("dy") = py::none(), py::arg("dh") = py::none(), py::arg("dc") = py::none(),
      py::arg("need_dx") = true);
}

}  // namespace tt::bindings
