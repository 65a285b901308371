// conv2d and pooling: Python argument parsing (window pairs, padding specs).
#include <algorithm>
#include <cctype>
#include <string>

#include "../kernels/conv.h"
#include "../kernels/pool.h"
#include "bindings.h"

namespace tt::bindings {
namespace {

using kernels::Hw;
using kernels::Padding;

int64_t to_int(py::handle h, const char* op, const char* name) {
  TT_TYPE_CHECK(py::isinstance<py::int_>(h) && !py::isinstance<py::bool_>(h), op, ": ", name,
                " must hold integers, got ", std::string(py::repr(h)));
  return h.cast<int64_t>();
}

// An int, a pair (h, w), or TensorFlow's 4-vector (1, h, w, 1).
Hw to_hw(py::handle h, const char* op, const char* name) {
  if (py::isinstance<py::int_>(h)) {
    const int64_t v = to_int(h, op, name);
    return {v, v};
  }
  TT_TYPE_CHECK(py::isinstance<py::sequence>(h) && !py::isinstance<py::str>(h), op, ": ", name,
                " must be an int or a pair of ints, got ", std::string(py::repr(h)));
  const auto s = h.cast<py::sequence>();
  if (s.size() == 2) return {to_int(s[0], op, name), to_int(s[1], op, name)};
  TT_CHECK(s.size() == 4 && to_int(s[0], op, name) == 1 && to_int(s[3], op, name) == 1, op, ": ", name,
           " must be (h, w) or (1, h, w, 1), got ", std::string(py::repr(h)));
  return {to_int(s[1], op, name), to_int(s[2], op, name)};
}

// "VALID" / "SAME" (any case), or explicit [[top, bottom], [left, right]]
// (also TensorFlow's 4-pair form with zero batch and channel pairs).
Padding to_padding(py::handle h, const char* op) {
  Padding p;
  if (py::isinstance<py::str>(h)) {
    std::string s = h.cast<std::string>();
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::toupper(c)); });
    TT_CHECK(s == "VALID" || s == "SAME", op, ": padding must be 'VALID', 'SAME' or [[top, bottom], [left, right]], got '",
             h.cast<std::string>(), "'");
    p.kind = s == "SAME" ? Padding::same : Padding::valid;
    return p;
  }
  const std::string bad = std::string(op) + ": explicit padding must be [[top, bottom], [left, right]], got ";
  TT_TYPE_CHECK(py::isinstance<py::sequence>(h), bad, std::string(py::repr(h)));
  const auto s = h.cast<py::sequence>();
  TT_CHECK(s.size() == 2 || s.size() == 4, bad, std::string(py::repr(h)));
  auto pair = [&](size_t i, int64_t& a, int64_t& b) {
    TT_TYPE_CHECK(py::isinstance<py::sequence>(s[i]) && !py::isinstance<py::str>(s[i]), bad, std::string(py::repr(h)));
    const auto q = s[i].cast<py::sequence>();
    TT_CHECK(q.size() == 2, bad, std::string(py::repr(h)));
    a = to_int(q[0], op, "padding");
    b = to_int(q[1], op, "padding");
  };
  p.kind = Padding::explicit_;
  const size_t first = s.size() == 4 ? 1 : 0;
  if (s.size() == 4) {
    int64_t a, b, c, d;
    pair(0, a, b);
    pair(3, c, d);
    TT_CHECK(a == 0 && b == 0 && c == 0 && d == 0, op, ": explicit padding of the batch and channel dimensions must be 0, got ",
             std::string(py::repr(h)));
  }
  pair(first, p.top, p.bottom);
  pair(first + 1, p.left, p.right);
  return p;
}

Shape to_shape(py::handle h, const char* op, const char* name) {
  TT_TYPE_CHECK(py::isinstance<py::sequence>(h) && !py::isinstance<py::str>(h), op, ": ", name,
                " must be a sequence of ints, got ", std::string(py::repr(h)));
  Shape s;
  for (auto v : h.cast<py::sequence>()) s.push_back(to_int(v, op, name));
  return s;
}

// Parses the window arguments with the GIL held, then runs `fn` without it.
// `second` is the dilations of a convolution or the ksize of a pooling.
template <typename F>
auto windowed(const char* op, py::handle strides, py::handle second, const char* second_name, py::handle padding,
              const F& fn) {
  const Hw s = to_hw(strides, op, "strides"), d = to_hw(second, op, second_name);
  const Padding p = to_padding(padding, op);
  py::gil_scoped_release nogil;
  return fn(s, d, p);
}

}  // namespace

void bind_conv(py::module_& m) {
  using kernels::Act;
  m.def(
      "conv2d",
      [](const Tensor& x, const Tensor& w, py::object strides, py::object dilations, py::object padding,
         std::optional<Tensor> bias, Act act) {
        return windowed("conv2d", strides, dilations, "dilations", padding, [&](Hw s, Hw d, const Padding& p) {
          return kernels::conv2d(x, w, s, d, p, bias ? &*bias : nullptr, act);
        });
      },
      py::arg("x"), py::arg("w"), py::arg("strides") = py::make_tuple(1, 1),
      py::arg("dilations") = py::make_tuple(1, 1), py::arg("padding") = "VALID", py::arg("bias") = py::none(),
      py::arg("act") = Act::none);

  m.def(
      "conv2d_max_pool",
      [](const Tensor& x, const Tensor& w, py::object strides, py::object dilations, py::object padding,
         std::optional<Tensor> bias, Act act, py::object ksize, py::object pool_strides, py::object pool_padding) {
        const char* op = "conv2d_max_pool";
        const Hw k = to_hw(ksize, op, "ksize"), ps = to_hw(pool_strides, op, "pool_strides");
        const Padding pp = to_padding(pool_padding, op);
        return windowed(op, strides, dilations, "dilations", padding, [&](Hw s, Hw d, const Padding& p) {
          kernels::PooledConv r = kernels::conv2d_max_pool(x, w, s, d, p, bias ? &*bias : nullptr, act, k, ps, pp);
          return std::make_tuple(r.y, r.argmax, r.conv_shape);
        });
      },
      py::arg("x"), py::arg("w"), py::arg("strides"), py::arg("dilations"), py::arg("padding"), py::arg("bias"),
      py::arg("act"), py::arg("ksize"), py::arg("pool_strides"), py::arg("pool_padding"));

  m.def(
      "conv2d_backward",
      [](const Tensor& x, const Tensor& w, const Tensor& y, const Tensor& dy, py::object strides, py::object dilations,
         py::object padding, Act act, bool need_dx, bool need_db) {
        auto g = windowed("conv2d_backward", strides, dilations, "dilations", padding, [&](Hw s, Hw d, const Padding& p) {
          return kernels::conv2d_backward(x, w, y, dy, s, d, p, act, need_dx, need_db);
        });
        return py::make_tuple(need_dx ? py::cast(g.dx) : py::none(), g.dw, need_db ? py::cast(g.db) : py::none());
      },
      py::arg("x"), py::arg("w"), py::arg("y"), py::arg("dy"), py::arg("strides") = py::make_tuple(1, 1),
      py::arg("dilations") = py::make_tuple(1, 1), py::arg("padding") = "VALID", py::arg("act") = Act::none,
      py::arg("need_dx") = true, py::arg("need_db") = true);

  m.def(
      "conv2d_backward_pooled",
      [](const Tensor& x, const Tensor& w, const Tensor& dy, const Tensor& argmax, py::object pool_input_shape,
         py::object ksize, py::object pool_strides, py::object pool_padding, py::object strides, py::object dilations,
         py::object padding, bool need_dx, bool need_db) {
        const char* op = "conv2d_backward_pooled";
        const kernels::MaxPoolGradient pooled(dy, argmax, to_shape(pool_input_shape, op, "pool_input_shape"),
                                              to_hw(ksize, op, "ksize"), to_hw(pool_strides, op, "pool_strides"),
                                              to_padding(pool_padding, op));
        auto g = windowed(op, strides, dilations, "dilations", padding, [&](Hw s, Hw d, const Padding& p) {
          return kernels::conv2d_backward_pooled(x, w, pooled, s, d, p, need_dx, need_db);
        });
        return py::make_tuple(need_dx ? py::cast(g.dx) : py::none(), g.dw, need_db ? py::cast(g.db) : py::none());
      },
      py::arg("x"), py::arg("w"), py::arg("dy"), py::arg("argmax"), py::arg("pool_input_shape"), py::arg("ksize"),
      py::arg("pool_strides"), py::arg("pool_padding"), py::arg("strides"), py::arg("dilations"), py::arg("padding"),
      py::arg("need_dx"), py::arg("need_db"));
  m.def(
      "conv2d_backward_input",
      [](const Tensor& dy, const Tensor& w, py::object input_shape, py::object strides, py::object dilations,
         py::object padding) {
        const Shape in = to_shape(input_shape, "conv2d_backward_input", "input_shape");
        return windowed("conv2d_backward_input", strides, dilations, "dilations", padding, [&](Hw s, Hw d, const Padding& p) {
          return kernels::conv2d_backward_input(dy, w, in, s, d, p);
        });
      },
      py::arg("dy"), py::arg("w"), py::arg("input_shape"), py::arg("strides") = py::make_tuple(1, 1),
      py::arg("dilations") = py::make_tuple(1, 1), py::arg("padding") = "VALID");

  m.def(
      "conv2d_backward_filter",
      [](const Tensor& x, const Tensor& dy, py::object filter_shape, py::object strides, py::object dilations,
         py::object padding) {
        const Shape f = to_shape(filter_shape, "conv2d_backward_filter", "filter_shape");
        return windowed("conv2d_backward_filter", strides, dilations, "dilations", padding, [&](Hw s, Hw d, const Padding& p) {
          return kernels::conv2d_backward_filter(x, dy, f, s, d, p);
        });
      },
      py::arg("x"), py::arg("dy"), py::arg("filter_shape"), py::arg("strides") = py::make_tuple(1, 1),
      py::arg("dilations") = py::make_tuple(1, 1), py::arg("padding") = "VALID");

  m.def(
      "max_pool2d",
      [](const Tensor& x, py::object ksize, py::object strides, py::object padding) {
        return windowed("max_pool2d", strides, ksize, "ksize", padding,
                        [&](Hw s, Hw k, const Padding& p) { return kernels::max_pool2d(x, k, s, p); });
      },
      py::arg("x"), py::arg("ksize"), py::arg("strides"), py::arg("padding") = "VALID");
  m.def(
      "max_pool2d_with_argmax",
      [](const Tensor& x, py::object ksize, py::object strides, py::object padding) {
        return windowed("max_pool2d", strides, ksize, "ksize", padding, [&](Hw s, Hw k, const Padding& p) {
          Tensor argmax;
          Tensor y = kernels::max_pool2d(x, k, s, p, &argmax);
          return std::make_pair(y, argmax);
        });
      },
      py::arg("x"), py::arg("ksize"), py::arg("strides"), py::arg("padding") = "VALID");
  m.def(
      "max_pool2d_backward",
      [](const Tensor& dy, const Tensor& argmax, py::object input_shape, py::object ksize, py::object strides,
         py::object padding) {
        const Shape in = to_shape(input_shape, "max_pool2d_backward", "input_shape");
        return windowed("max_pool2d_backward", strides, ksize, "ksize", padding, [&](Hw s, Hw k, const Padding& p) {
          return kernels::max_pool2d_backward(dy, argmax, in, k, s, p);
        });
      },
      py::arg("dy"), py::arg("argmax"), py::arg("input_shape"), py::arg("ksize"), py::arg("strides"),
      py::arg("padding") = "VALID");
  m.def(
      "avg_pool2d",
      [](const Tensor& x, py::object ksize, py::object strides, py::object padding) {
        return windowed("avg_pool2d", strides, ksize, "ksize", padding,
                        [&](Hw s, Hw k, const Padding& p) { return kernels::avg_pool2d(x, k, s, p); });
      },
      py::arg("x"), py::arg("ksize"), py::arg("strides"), py::arg("padding") = "VALID");
  m.def(
      "avg_pool2d_backward",
      [](const Tensor& dy, py::object input_shape, py::object ksize, py::object strides, py::object padding) {
        const Shape in = to_shape(input_shape, "avg_pool2d_backward", "input_shape");
        return windowed("avg_pool2d_backward", strides, ksize, "ksize", padding, [&](Hw s, Hw k, const Padding& p) {
          return kernels::avg_pool2d_backward(dy, in, k, s, p);
        });
      },
      py::arg("dy"), py::arg("input_shape"), py::arg("ksize"), py::arg("strides"), py::arg("padding") = "VALID");
}

}  // namespace tt::bindings
