// Element types a tensor can hold, and the switch that turns a runtime dtype
// into a C++ type for templated kernels.
#pragma once
#include <cstddef>
#include <cstdint>

#include "check.h"

namespace tt {

enum class DType : uint8_t { f32, f64, i32, i64, b8, u8 };

inline size_t itemsize(DType d) {
  switch (d) {
    case DType::f32: case DType::i32: return 4;
    case DType::f64: case DType::i64: return 8;
    case DType::b8: case DType::u8: return 1;
  }
  return 0;
}

inline const char* dtype_name(DType d) {
  switch (d) {
    case DType::f32: return "float32";
    case DType::f64: return "float64";
    case DType::i32: return "int32";
    case DType::i64: return "int64";
    case DType::b8: return "bool";
    case DType::u8: return "uint8";
  }
  return "?";
}

inline bool is_floating(DType d) { return d == DType::f32 || d == DType::f64; }

template <typename T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::f32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::f64; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::i32; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::i64; };
template <> struct dtype_of<bool> { static constexpr DType value = DType::b8; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::u8; };

}  // namespace tt

// TT_DISPATCH_FLOAT(dtype, "op", [&](auto tag) { using T = decltype(tag); ... })
// calls the lambda with a value of the matching C++ type.
#define TT_DISPATCH_FLOAT(DT, OPNAME, ...)                                         \
  [&] {                                                                           \
    switch (DT) {                                                                 \
      case ::tt::DType::f32: return (__VA_ARGS__)(float{});                       \
      case ::tt::DType::f64: return (__VA_ARGS__)(double{});                      \
      default: TT_TYPE_ERROR(OPNAME, ": expected a float32 or float64 tensor, got ", \
                             ::tt::dtype_name(DT));                               \
    }                                                                             \
  }()

#define TT_DISPATCH_ALL(DT, OPNAME, ...)                                \
  [&] {                                                                \
    switch (DT) {                                                      \
      case ::tt::DType::f32: return (__VA_ARGS__)(float{});            \
      case ::tt::DType::f64: return (__VA_ARGS__)(double{});           \
      case ::tt::DType::i32: return (__VA_ARGS__)(int32_t{});          \
      case ::tt::DType::i64: return (__VA_ARGS__)(int64_t{});          \
      case ::tt::DType::b8: return (__VA_ARGS__)(bool{});              \
      case ::tt::DType::u8: return (__VA_ARGS__)(uint8_t{});           \
    }                                                                  \
    TT_TYPE_ERROR(OPNAME, ": unsupported dtype");                      \
  }()
