// Image preprocessing kernels (the Keras image layers call these).
#include <optional>

#include "../kernels/image.h"
#include "bindings.h"

namespace tt::bindings {

void bind_image(py::module_& m) {
  using namespace kernels;
  m.def(
      "image_affine",
      [](const Tensor& x, const Tensor& transforms, const std::string& interpolation, const std::string& fill_mode,
         double fill_value, DType dtype) {
        return image_affine(x, transforms, parse_interpolation(interpolation, "image_affine"),
                            parse_fill_mode(fill_mode, "image_affine"), fill_value, dtype);
      },
      "NHWC images sampled at affine source points (a0 x + a1 y + a2, b0 x + b1 y + b2), one transform row "
      "(a0, a1, a2, b0, b1, b2) per image, as tf.raw_ops.ImageProjectiveTransformV3.",
      py::arg("x"), py::arg("transforms"), py::arg("interpolation") = "bilinear", py::arg("fill_mode") = "constant",
      py::arg("fill_value") = 0.0, py::arg("dtype") = DType::f32, release_gil());
  m.def(
      "image_resize",
      [](const Tensor& x, int64_t height, int64_t width, const std::string& interpolation,
         std::optional<std::vector<int64_t>> window, DType dtype) {
        std::vector<int64_t> w = window.value_or(std::vector<int64_t>{0, 0, x.ndim() == 4 ? x.shape[1] : 0,
                                                                      x.ndim() == 4 ? x.shape[2] : 0});
        TT_CHECK(w.size() == 4, "image_resize: window must be (top, left, height, width)");
        return image_resize(x, height, width, parse_interpolation(interpolation, "image_resize"), w[0], w[1], w[2],
                            w[3], dtype);
      },
      "tf.image.resize (half-pixel centres, no antialiasing) of the window (top, left, height, width) of NHWC images "
      "(default: the whole image).",
      py::arg("x"), py::arg("height"), py::arg("width"), py::arg("interpolation") = "bilinear",
      py::arg("window") = py::none(), py::arg("dtype") = DType::f32, release_gil());
  m.def("image_flip", &image_flip, "Per-image flips of NHWC images: flags (uint8) bit 0 left-right, bit 1 up-down.",
        py::arg("x"), py::arg("flags"), py::arg("dtype") = DType::f32, release_gil());
  m.def("image_crop", &image_crop, "Per-image height x width windows of NHWC images at offsets (N, 2) = (top, left).",
        py::arg("x"), py::arg("offsets"), py::arg("height"), py::arg("width"), py::arg("dtype") = DType::f32,
        release_gil());
  m.def("image_contrast", &image_contrast,
        "(x - mean) * factors[n] + mean per image and channel, clipped to [lo, hi].", py::arg("x"), py::arg("factors"),
        py::arg("lo"), py::arg("hi"), py::arg("dtype") = DType::f32, release_gil());
  m.def("image_brightness", &image_brightness, "x + deltas[n] per image, clipped to [lo, hi].", py::arg("x"),
        py::arg("deltas"), py::arg("lo"), py::arg("hi"), py::arg("dtype") = DType::f32, release_gil());
}

}  // namespace tt::bindings
