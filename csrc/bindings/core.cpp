// Tensor storage, numpy interop, threads, ISA, random.
#include <string>

#include "../core/cpu.h"
#include "../core/parallel.h"
#include "../kernels/random.h"
#include "bindings.h"

namespace tt::bindings {
namespace {

std::string buffer_format(DType d) {
  switch (d) {
    case DType::f32: return py::format_descriptor<float>::format();
    case DType::f64: return py::format_descriptor<double>::format();
    case DType::i32: return py::format_descriptor<int32_t>::format();
    case DType::i64: return py::format_descriptor<int64_t>::format();
    case DType::b8: return py::format_descriptor<bool>::format();
    case DType::u8: return py::format_descriptor<uint8_t>::format();
  }
  return "";
}

DType dtype_of_array(const py::array& a) {
  const py::dtype dt = a.dtype();
  const char kind = dt.kind();
  const auto size = dt.itemsize();
  if (kind == 'f' && size == 4) return DType::f32;
  if (kind == 'f' && size == 8) return DType::f64;
  if (kind == 'i' && size == 4) return DType::i32;
  if (kind == 'i' && size == 8) return DType::i64;
  if (kind == 'b') return DType::b8;
  if (kind == 'u' && size == 1) return DType::u8;
  TT_TYPE_ERROR("tinytf: unsupported numpy dtype ", std::string(py::str(dt)),
                " (supported: float32, float64, int32, int64, bool, uint8)");
}

}  // namespace

bool readable_in_place(const py::array& a) {
  const int flags = a.flags();
  return (flags & py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_) && (flags & py::detail::npy_api::NPY_ARRAY_ALIGNED_) &&
         a.dtype().byteorder() != '>';
}

Tensor array_view(const py::array& a, DType dtype, std::function<void()> release) {
  Tensor t;
  t.dtype = dtype;
  t.shape.assign(a.shape(), a.shape() + a.ndim());
  t.strides = contiguous_strides(t.shape);
  t.storage = Storage::borrow(const_cast<void*>(a.data()), size_t(a.nbytes()), std::move(release));
  return t;
}

namespace {

// Wraps a C-contiguous, aligned, writeable, native-order array without a copy.
// The Storage holds a reference to the array until the last view is gone.
Tensor from_numpy(const py::array& a) {
  const bool ok = readable_in_place(a) && a.writeable();
  TT_CHECK(ok, "from_numpy: the array must be C-contiguous, aligned, writeable and native-endian (copy it first)");
  auto* keep = new py::object(a);
  return array_view(a, dtype_of_array(a), [keep] {
    if (!Py_IsInitialized()) return;  // interpreter gone: nothing left to release
    py::gil_scoped_acquire gil;
    delete keep;
  });
}

py::tuple to_tuple(const Shape& s) {
  py::tuple t(s.size());
  for (size_t i = 0; i < s.size(); ++i) t[i] = s[i];
  return t;
}

void fill_value(const Tensor& t, double v) {
  TT_DISPATCH_ALL(t.dtype, "fill", [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    const T x = static_cast<T>(v);
    parallel_for(0, t.numel(), 65536, [&](int64_t a, int64_t b) { std::fill(p + a, p + b, x); });
  });
}

}  // namespace

void bind_core(py::module_& m) {
  auto dtypes = py::enum_<DType>(m, "DType")
                    .value("float32", DType::f32)
                    .value("float64", DType::f64)
                    .value("int32", DType::i32)
                    .value("int64", DType::i64)
                    .value("bool", DType::b8)
                    .value("uint8", DType::u8);
  // Tensor.dtype hands out the enum's own members: converting a DType builds a
  // new Python object each time (0.4 us, and ops read dtypes on every call).
  static py::handle members[6];
  for (auto [name, d] : {std::pair{"float32", DType::f32}, {"float64", DType::f64}, {"int32", DType::i32},
                         {"int64", DType::i64}, {"bool", DType::b8}, {"uint8", DType::u8}})
    members[int(d)] = py::object(dtypes.attr(name)).release();  // one reference kept for good

  py::class_<Tensor>(m, "Tensor", py::buffer_protocol())
      .def_buffer([](Tensor& t) {
        std::vector<py::ssize_t> strides(t.strides.size());
        const auto isz = py::ssize_t(itemsize(t.dtype));
        for (size_t i = 0; i < strides.size(); ++i) strides[i] = t.strides[i] * isz;
        return py::buffer_info(t.raw(), isz, buffer_format(t.dtype), t.ndim(),
                               std::vector<py::ssize_t>(t.shape.begin(), t.shape.end()), strides, false);
      })
      .def_property_readonly("shape", [](const Tensor& t) { return to_tuple(t.shape); })
      .def_property_readonly("strides", [](const Tensor& t) { return to_tuple(t.strides); })
      .def_property_readonly("dtype", [](const Tensor& t) { return py::reinterpret_borrow<py::object>(members[int(t.dtype)]); })
      .def_readonly("offset", &Tensor::offset)
      .def_property_readonly("ndim", &Tensor::ndim)
      .def_property_readonly("size", &Tensor::numel)
      .def_property_readonly("is_contiguous", &Tensor::is_contiguous)
      .def_property_readonly("data_ptr", [](const Tensor& t) { return reinterpret_cast<uintptr_t>(t.raw()); })
      .def_property_readonly("storage_ptr", [](const Tensor& t) { return reinterpret_cast<uintptr_t>(t.storage->data); })
      .def_property_readonly("storage_nbytes", [](const Tensor& t) { return t.storage->nbytes; })
      .def("reshape", &Tensor::reshape, py::arg("shape"))
      .def("permute", &Tensor::permute, py::arg("axes"))
      .def("slice", &Tensor::slice, py::arg("start"), py::arg("stop"), py::arg("step") = 1)
      .def("expand", &Tensor::expand, py::arg("shape"))
      .def("contiguous", &Tensor::contiguous, release_gil())
      .def("clone", &Tensor::clone, release_gil())
      .def("to", &Tensor::to, py::arg("dtype"), release_gil());

  m.def("from_numpy", &from_numpy, py::arg("array"));
  m.def("empty", &Tensor::empty, py::arg("shape"), py::arg("dtype"));
  m.def("zeros", &Tensor::zeros, py::arg("shape"), py::arg("dtype"), release_gil());
  m.def(
      "full",
      [](const Shape& shape, double value, DType dtype) {
        Tensor t = Tensor::empty(shape, dtype);
        fill_value(t, value);
        return t;
      },
      py::arg("shape"), py::arg("value"), py::arg("dtype"), release_gil());
  m.def("copy_into", &copy_into, py::arg("dst"), py::arg("src"), release_gil());

  py::enum_<kernels::Distribution>(m, "Distribution")
      .value("uniform", kernels::Distribution::uniform)
      .value("normal", kernels::Distribution::normal)
      .value("truncated_normal", kernels::Distribution::truncated_normal);
  m.def(
      "random",
      [](const Shape& shape, DType dtype, kernels::Distribution dist, uint64_t seed, uint64_t offset, double a, double b) {
        Tensor t = Tensor::empty(shape, dtype);
        kernels::random_fill(t, dist, seed, offset, a, b);
        return t;
      },
      py::arg("shape"), py::arg("dtype"), py::arg("dist"), py::arg("seed"), py::arg("offset"), py::arg("a"),
      py::arg("b"), release_gil());

  m.def("get_num_threads", &num_threads);
  m.def("set_num_threads", &set_num_threads, py::arg("n"));
  m.def("default_num_threads", &default_num_threads);

  m.def("isa", [] { return std::string(isa_name(isa())); });
  m.def("cpu_best_isa", [] { return std::string(isa_name(cpu_best_isa())); });
  m.def(
      "set_isa",
      [](const std::string& name) {
        for (Isa i : {Isa::scalar, Isa::avx2, Isa::avx512})
          if (name == isa_name(i)) return set_isa(i);
        TT_CHECK(false, "set_isa: unknown ISA '", name, "' (expected scalar, avx2 or avx512)");
      },
      py::arg("name"));

  m.def("allocator_stats", [] {
    auto s = allocator_stats();
    py::dict d;
    d["fresh_allocations"] = s.fresh_allocations;
    d["cached_bytes"] = s.cached_bytes;
    return d;
  });
  m.def("allocator_empty_cache", &allocator_empty_cache);
#ifdef _OPENMP
  m.attr("openmp") = true;
#else
  m.attr("openmp") = false;
#endif
}

}  // namespace tt::bindings
