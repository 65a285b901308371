// The binding layer: the only files that include pybind11. One bind_* per
// kernel family; module.cpp calls them all.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "../core/tensor.h"

namespace py = pybind11;

namespace tt::bindings {

// Whether kernels can read the array's memory as it is: C-contiguous,
// aligned, native byte order.
bool readable_in_place(const py::array& a);

// A C-contiguous array's memory as a tensor of `dtype` (its item size),
// without a copy; `release` runs when the last view is gone.
Tensor array_view(const py::array& a, DType dtype, std::function<void()> release);

// Every binding that may take time releases the GIL.
using release_gil = py::call_guard<py::gil_scoped_release>;

void bind_core(py::module_& m);
void bind_gemm(py::module_& m);
void bind_elementwise(py::module_& m);
void bind_optim(py::module_& m);
void bind_index(py::module_& m);
void bind_nn(py::module_& m);
void bind_conv(py::module_& m);
void bind_rnn(py::module_& m);
void bind_image(py::module_& m);

}  // namespace tt::bindings
