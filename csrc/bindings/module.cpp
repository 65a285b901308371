#include "bindings.h"

#ifndef TINYTF_VERSION
#define TINYTF_VERSION "dev"
#endif

PYBIND11_MODULE(_core, m) {
  m.doc() = "tinytf C++ core: tensor storage and kernels";
  m.attr("__version__") = TINYTF_VERSION;

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const tt::type_error& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    } catch (const tt::value_error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const tt::index_error& e) {
      PyErr_SetString(PyExc_IndexError, e.what());
    } catch (const tt::memory_error& e) {
      PyErr_SetString(PyExc_MemoryError, e.what());
    }
  });

  tt::bindings::bind_core(m);
  tt::bindings::bind_gemm(m);
  tt::bindings::bind_elementwise(m);
  tt::bindings::bind_optim(m);
  tt::bindings::bind_index(m);
  tt::bindings::bind_nn(m);
  tt::bindings::bind_conv(m);
  tt::bindings::bind_rnn(m);
  tt::bindings::bind_image(m);
}
