#include "elementwise.h"

#include <cmath>
#include <cstring>
#include <type_traits>

#include "../core/cpu.h"
#include "../core/iter.h"
#include "elementwise_simd.h"

namespace tt::kernels {
namespace {

// Strides of `t` viewed at the broadcast shape `out` (0 along broadcast dims).
Shape broadcast_strides(const Tensor& t, const Shape& out) {
  Shape s(out.size(), 0);
  const size_t shift = out.size() - t.shape.size();
  for (size_t d = 0; d < t.shape.size(); ++d)
    if (t.shape[d] != 1) s[d + shift] = t.strides[d];
  return s;
}

// out[i] = f(x[i]) over a new contiguous tensor of x's shape. `row`, when
// given and not null, replaces f on contiguous rows: row(out, in, n).
template <typename O, typename I, typename F, typename Row = std::nullptr_t>
Tensor map1(const Tensor& x, DType out_dtype, F f, Row row = nullptr) {
  Tensor out = Tensor::empty(x.shape, out_dtype);
  for_each_row<2>(x.shape, {&out.strides, &x.strides}, {int64_t(sizeof(O)), int64_t(sizeof(I))}, {out.raw(), x.raw()},
                  kElementwiseGrain, [&](char** p, int64_t n, const int64_t* s) {
                    O* o = reinterpret_cast<O*>(p[0]);
                    const I* a = reinterpret_cast<const I*>(p[1]);
                    if (s[1] == int64_t(sizeof(I))) {
                      if constexpr (!std::is_null_pointer_v<Row>)
                        if (row) return row(o, a, n);
                      for (int64_t i = 0; i < n; ++i) o[i] = f(a[i]);
                    } else
                      for (int64_t i = 0, si = s[1] / int64_t(sizeof(I)); i < n; ++i) o[i] = f(a[i * si]);
                  });
  return out;
}

// out[i] = f(a[i], b[i]) with broadcasting. The common layouts (both
// contiguous, or one a broadcast scalar) of float inputs get loops the
// compiler vectorises; integer and bool inputs (indices, masks: not where
// training spends its time) take the general loop only, which keeps the
// extension small.
template <typename O, typename I, typename F>
Tensor map2(const Tensor& a, const Tensor& b, DType out_dtype, const char* op, F f) {
  const Shape shape = broadcast_shapes(a.shape, b.shape, op);
  Tensor out = Tensor::empty(shape, out_dtype);
  const Shape sa = broadcast_strides(a, shape), sb = broadcast_strides(b, shape);
  constexpr int64_t isz = sizeof(I);
  for_each_row<3>(shape, {&out.strides, &sa, &sb}, {int64_t(sizeof(O)), isz, isz}, {out.raw(), a.raw(), b.raw()},
                  kElementwiseGrain, [&](char** p, int64_t n, const int64_t* s) {
                    O* o = reinterpret_cast<O*>(p[0]);
                    const I* x = reinterpret_cast<const I*>(p[1]);
                    const I* y = reinterpret_cast<const I*>(p[2]);
                    if constexpr (std::is_floating_point<I>::value) {
                      if (s[1] == isz && s[2] == isz) {
                        for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i]);
                        return;
                      }
                      if (s[1] == isz && s[2] == 0) {
                        const I c = *y;
                        for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], c);
                        return;
                      }
                      if (s[1] == 0 && s[2] == isz) {
                        const I c = *x;
                        for (int64_t i = 0; i < n; ++i) o[i] = f(c, y[i]);
                        return;
                      }
                    }
                    const int64_t s1 = s[1] / isz, s2 = s[2] / isz;
                    for (int64_t i = 0; i < n; ++i) o[i] = f(x[i * s1], y[i * s2]);
                  });
  return out;
}

constexpr double kSeluScale = 1.0507009873554804934193349852946;
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSqrt2OverPi = 0.79788456080286535587989211986876;
constexpr double kInvSqrt2Pi = 0.39894228040143267793994605993438;
constexpr double kTwoOverSqrtPi = 1.1283791670955125738961589031215;

const ElementwiseRows& simd_rows() {
  static const ElementwiseRows generic = make_elementwise_rows();
  switch (isa()) {
    case Isa::avx512: return elementwise_rows_avx512();
    case Isa::avx2: return elementwise_rows_avx2();
    default: return generic;
  }
}

}  // namespace

void Philox::operator()(uint64_t idx, uint32_t sub, uint32_t out[4]) const {
  philox_counters<1>(key[0], key[1], idx, sub, out);
}

void Philox::block(uint64_t idx0, uint32_t sub, uint32_t out[4 * kBlock]) const {
  simd_rows().philox_block(key[0], key[1], idx0, sub, out);
}

namespace {

// The per-ISA row of a float32 op; none for float64 (map1 then runs f).
template <typename T>
auto float_row(FloatRowFn f32) {
  if constexpr (std::is_same_v<T, float>) return f32;
  else return static_cast<void (*)(T*, const T*, int64_t)>(nullptr);
}

template <typename T>
Tensor unary_float(Unary op, const Tensor& x, T al) {
  const DType dt = x.dtype;
  switch (op) {
    case Unary::sqrt: return map1<T, T>(x, dt, [](T v) { return std::sqrt(v); });
    case Unary::rsqrt: return map1<T, T>(x, dt, [](T v) { return T(1) / std::sqrt(v); });
    case Unary::exp: return map1<T, T>(x, dt, [](T v) { return std::exp(v); }, float_row<T>(simd_rows().exp_f32));
    case Unary::expm1: return map1<T, T>(x, dt, [](T v) { return std::expm1(v); });
    case Unary::log: return map1<T, T>(x, dt, [](T v) { return std::log(v); });
    case Unary::log1p: return map1<T, T>(x, dt, [](T v) { return std::log1p(v); });
    case Unary::reciprocal: return map1<T, T>(x, dt, [](T v) { return T(1) / v; });
    case Unary::sin: return map1<T, T>(x, dt, [](T v) { return std::sin(v); });
    case Unary::cos: return map1<T, T>(x, dt, [](T v) { return std::cos(v); });
    case Unary::floor: return map1<T, T>(x, dt, [](T v) { return std::floor(v); });
    case Unary::ceil: return map1<T, T>(x, dt, [](T v) { return std::ceil(v); });
    case Unary::round: return map1<T, T>(x, dt, [](T v) { return std::nearbyint(v); });  // half to even, as TF
    case Unary::erf: return map1<T, T>(x, dt, [](T v) { return std::erf(v); });
    case Unary::relu: return map1<T, T>(x, dt, [](T v) { return v > T(0) ? v : T(0); });
    case Unary::relu6: return map1<T, T>(x, dt, [](T v) { return std::min(std::max(v, T(0)), T(6)); });
    case Unary::leaky_relu: return map1<T, T>(x, dt, [al](T v) { return v > T(0) ? v : v * al; });
    case Unary::sigmoid: return map1<T, T>(x, dt, [](T v) { return sigmoid(v); }, float_row<T>(simd_rows().sigmoid_f32));
    case Unary::tanh: return map1<T, T>(x, dt, [](T v) { return std::tanh(v); }, float_row<T>(simd_rows().tanh_f32));
    case Unary::softplus:  // log(1 + e^v) without overflow
      return map1<T, T>(x, dt, [](T v) { return std::max(v, T(0)) + std::log1p(std::exp(-std::fabs(v))); });
    case Unary::softsign: return map1<T, T>(x, dt, [](T v) { return v / (T(1) + std::fabs(v)); });
    case Unary::elu: return map1<T, T>(x, dt, [al](T v) { return v > T(0) ? v : al * std::expm1(v); });
    case Unary::selu:
      return map1<T, T>(x, dt, [](T v) { return T(kSeluScale) * (v > T(0) ? v : T(kSeluAlpha) * std::expm1(v)); });
    case Unary::gelu:
      return map1<T, T>(x, dt, [](T v) { return T(0.5) * v * (T(1) + std::erf(v * T(M_SQRT1_2))); });
    case Unary::gelu_tanh:
      return map1<T, T>(x, dt, [](T v) {
        return T(0.5) * v * (T(1) + std::tanh(T(kSqrt2OverPi) * (v + T(0.044715) * v * v * v)));
      });
    case Unary::silu: return map1<T, T>(x, dt, [](T v) { return v * sigmoid(v); });
    default: break;
  }
  TT_FAIL_AS(::tt::value_error, unary_name(op), ": not a float op");
}

template <typename T>
Tensor unary_numeric(Unary op, const Tensor& x) {
  const DType dt = x.dtype;
  switch (op) {
    case Unary::neg: return map1<T, T>(x, dt, [](T v) { return T(-v); });
    case Unary::abs: return map1<T, T>(x, dt, [](T v) { return v < T(0) ? T(-v) : v; });
    case Unary::sign:
      return map1<T, T>(x, dt, [](T v) {
        if constexpr (std::is_floating_point<T>::value)
          if (std::isnan(v)) return v;
        return T((v > T(0)) - (v < T(0)));
      });
    case Unary::square: return map1<T, T>(x, dt, [](T v) { return T(v * v); });
    default: break;
  }
  TT_FAIL_AS(::tt::value_error, unary_name(op), ": not a numeric op");
}

// f'(x) and f''(x) of the activations (see elementwise.h).
template <typename T>
inline T activation_derivative(Unary op, T x, T al, int order) {
  const bool second = order == 2;
  switch (op) {
    case Unary::relu: return second ? T(0) : T(x > T(0));
    case Unary::relu6: return second ? T(0) : T(x > T(0) && x < T(6));
    case Unary::leaky_relu: return second ? T(0) : (x > T(0) ? T(1) : al);
    case Unary::sigmoid: {
      const T s = sigmoid(x);
      return second ? s * (T(1) - s) * (T(1) - T(2) * s) : s * (T(1) - s);
    }
    case Unary::tanh: {
      const T t = std::tanh(x);
      return second ? T(-2) * t * (T(1) - t * t) : T(1) - t * t;
    }
    case Unary::softplus: {
      const T s = sigmoid(x);
      return second ? s * (T(1) - s) : s;
    }
    case Unary::softsign: {
      const T d = T(1) + std::fabs(x);
      return second ? T(-2) * T((x > T(0)) - (x < T(0))) / (d * d * d) : T(1) / (d * d);
    }
    case Unary::elu: return x > T(0) ? T(!second) : al * std::exp(x);
    case Unary::selu: return x > T(0) ? T(second ? 0.0 : kSeluScale) : T(kSeluScale * kSeluAlpha) * std::exp(x);
    case Unary::gelu: {
      const T pdf = T(kInvSqrt2Pi) * std::exp(T(-0.5) * x * x);
      return second ? pdf * (T(2) - x * x) : T(0.5) * (T(1) + std::erf(x * T(M_SQRT1_2))) + x * pdf;
    }
    case Unary::gelu_tanh: {
      const T c = T(kSqrt2OverPi), k = T(0.044715);
      const T t = std::tanh(c * (x + k * x * x * x)), sech2 = T(1) - t * t;
      const T du = c * (T(1) + T(3) * k * x * x), d2u = c * T(6) * k * x;
      return second ? sech2 * du + T(0.5) * x * sech2 * (d2u - T(2) * t * du * du)
                    : T(0.5) * (T(1) + t) + T(0.5) * x * sech2 * du;
    }
    case Unary::silu: {
      const T s = sigmoid(x);
      return second ? s * (T(1) - s) * (T(2) + x * (T(1) - T(2) * s)) : s * (T(1) + x * (T(1) - s));
    }
    case Unary::erf: {
      const T e = T(kTwoOverSqrtPi) * std::exp(-x * x);
      return second ? T(-2) * x * e : e;
    }
    default: return T(0);
  }
}

bool is_numeric(DType d) { return d != DType::b8; }

}  // namespace

const char* unary_name(Unary op) {
  static const char* names[] = {"neg", "abs", "sign", "square", "sqrt", "rsqrt", "exp", "expm1", "log", "log1p",
                                "reciprocal", "sin", "cos", "floor", "ceil", "round", "erf", "relu", "relu6",
                                "sigmoid", "tanh", "softplus", "softsign", "elu", "selu", "gelu", "gelu_tanh", "silu",
                                "leaky_relu", "logical_not"};
  const int i = int(op);
  return i >= 0 && i <= int(Unary::logical_not) ? names[i] : "?";
}

const char* binary_name(Binary op) {
  static const char* names[] = {"add", "subtract", "multiply", "divide", "floordiv", "floormod", "pow", "maximum",
                                "minimum", "squared_difference", "less", "less_equal", "greater", "greater_equal",
                                "equal", "not_equal", "logical_and", "logical_or", "logical_xor"};
  const int i = int(op);
  return i >= 0 && i <= int(Binary::logical_xor) ? names[i] : "?";
}

Tensor unary(Unary op, const Tensor& x, double alpha) {
  if (op == Unary::logical_not) {
    TT_TYPE_CHECK(x.dtype == DType::b8, "logical_not: expected a bool tensor, got ", dtype_name(x.dtype));
    return map1<bool, bool>(x, DType::b8, [](bool v) { return !v; });
  }
  if (op <= Unary::square) {
    TT_TYPE_CHECK(is_numeric(x.dtype), unary_name(op), ": expected a numeric tensor, got bool");
    return TT_DISPATCH_ALL(x.dtype, unary_name(op), [&](auto tag) -> Tensor {
      using T = decltype(tag);
      if constexpr (std::is_same<T, bool>::value) return Tensor();
      else return unary_numeric<T>(op, x);
    });
  }
  TT_TYPE_CHECK(is_floating(x.dtype), unary_name(op), ": expected a float32 or float64 tensor, got ",
                dtype_name(x.dtype));
  return TT_DISPATCH_FLOAT(x.dtype, unary_name(op), [&](auto tag) { return unary_float(op, x, decltype(tag)(alpha)); });
}

Tensor unary_grad(Unary op, const Tensor& x, const Tensor& dy, double alpha, int order) {
  const char* name = unary_name(op);
  TT_CHECK((op >= Unary::relu && op <= Unary::leaky_relu) || op == Unary::erf, name,
           ": no fused derivative for this op");
  TT_CHECK(order == 1 || order == 2, name, ": derivative order must be 1 or 2, got ", order);
  TT_TYPE_CHECK(is_floating(x.dtype) && dy.dtype == x.dtype, name, " gradient: expected float tensors of one dtype, got ",
                dtype_name(x.dtype), " and ", dtype_name(dy.dtype));
  return TT_DISPATCH_FLOAT(x.dtype, name, [&](auto tag) {
    using T = decltype(tag);
    const T al = T(alpha);
    if (op == Unary::relu && order == 1)  // the common case, as a loop that vectorises: both
      return map2<T, T>(dy, x, x.dtype, name, [](T g, T v) {  // sides evaluated, so a select (no branch)
        const T off = g * T(0);
        return v > T(0) ? g : off;
      });
    return map2<T, T>(dy, x, x.dtype, name,
                      [op, al, order](T g, T v) { return g * activation_derivative<T>(op, v, al, order); });
  });
}

namespace {

template <typename T>
void check_integer_divisor(Binary op, const Tensor& b) {
  if constexpr (std::is_integral<T>::value) {
    if (op != Binary::floordiv && op != Binary::mod && op != Binary::div) return;
    Tensor c = b.contiguous();
    const T* p = c.data<T>();
    for (int64_t i = 0; i < c.numel(); ++i) TT_CHECK(p[i] != T(0), binary_name(op), ": integer division by zero");
  }
}

template <typename T>
T int_pow(T base, T e) {
  T r = 1;
  for (; e > 0; e >>= 1, base *= base)
    if (e & 1) r *= base;
  return r;
}

template <typename T>
Tensor arithmetic(Binary op, const Tensor& a, const Tensor& b) {
  const DType dt = a.dtype;
  const char* n = binary_name(op);
  check_integer_divisor<T>(op, b);
  constexpr bool is_int = std::is_integral<T>::value;
  switch (op) {
    case Binary::add: return map2<T, T>(a, b, dt, n, [](T x, T y) { return T(x + y); });
    case Binary::sub: return map2<T, T>(a, b, dt, n, [](T x, T y) { return T(x - y); });
    case Binary::mul: return map2<T, T>(a, b, dt, n, [](T x, T y) { return T(x * y); });
    case Binary::div: return map2<T, T>(a, b, dt, n, [](T x, T y) { return T(x / y); });
    case Binary::maximum:
      return map2<T, T>(a, b, dt, n, [](T x, T y) {
        if constexpr (!is_int) if (std::isnan(x) || std::isnan(y)) return x + y;  // NaN propagates, as TF
        return x > y ? x : y;
      });
    case Binary::minimum:
      return map2<T, T>(a, b, dt, n, [](T x, T y) {
        if constexpr (!is_int) if (std::isnan(x) || std::isnan(y)) return x + y;
        return x < y ? x : y;
      });
    case Binary::squared_difference: return map2<T, T>(a, b, dt, n, [](T x, T y) { return T((x - y) * (x - y)); });
    case Binary::floordiv:
      return map2<T, T>(a, b, dt, n, [](T x, T y) {
        if constexpr (is_int) {
          T q = x / y;
          return T((x % y != 0 && ((x < 0) != (y < 0))) ? q - 1 : q);
        } else {
          return std::floor(x / y);
        }
      });
    case Binary::mod:  // sign of the divisor, as Python and tf.math.floormod
      return map2<T, T>(a, b, dt, n, [](T x, T y) {
        if constexpr (is_int) {
          T r = x % y;
          return T((r != 0 && ((r < 0) != (y < 0))) ? r + y : r);
        } else {
          T r = std::fmod(x, y);
          return (r != T(0) && ((r < T(0)) != (y < T(0)))) ? r + y : r;
        }
      });
    case Binary::pow:
      if constexpr (is_int) {
        if constexpr (std::is_signed<T>::value) {
          Tensor c = b.contiguous();
          for (int64_t i = 0; i < c.numel(); ++i)
            TT_CHECK(c.data<T>()[i] >= 0, "pow: integers to negative integer powers are not allowed");
        }
        return map2<T, T>(a, b, dt, n, [](T x, T y) { return int_pow<T>(x, y); });
      } else {
        return map2<T, T>(a, b, dt, n, [](T x, T y) { return T(std::pow(x, y)); });
      }
    default: break;
  }
  TT_FAIL_AS(::tt::value_error, n, ": not an arithmetic op");
}

template <typename T>
Tensor comparison(Binary op, const Tensor& a, const Tensor& b) {
  const char* n = binary_name(op);
  switch (op) {
    case Binary::less: return map2<bool, T>(a, b, DType::b8, n, [](T x, T y) { return x < y; });
    case Binary::less_equal: return map2<bool, T>(a, b, DType::b8, n, [](T x, T y) { return x <= y; });
    case Binary::greater: return map2<bool, T>(a, b, DType::b8, n, [](T x, T y) { return x > y; });
    case Binary::greater_equal: return map2<bool, T>(a, b, DType::b8, n, [](T x, T y) { return x >= y; });
    case Binary::equal: return map2<bool, T>(a, b, DType::b8, n, [](T x, T y) { return x == y; });
    case Binary::not_equal: return map2<bool, T>(a, b, DType::b8, n, [](T x, T y) { return x != y; });
    default: break;
  }
  TT_FAIL_AS(::tt::value_error, n, ": not a comparison");
}

}  // namespace

Tensor binary(Binary op, const Tensor& a, const Tensor& b) {
  const char* n = binary_name(op);
  TT_TYPE_CHECK(a.dtype == b.dtype, n, ": both operands must have the same dtype, got ", dtype_name(a.dtype), " and ",
                dtype_name(b.dtype), " (shapes ", a.shape, " and ", b.shape, ")");
  if (op >= Binary::logical_and) {
    TT_TYPE_CHECK(a.dtype == DType::b8, n, ": expected bool tensors, got ", dtype_name(a.dtype));
    switch (op) {
      case Binary::logical_and: return map2<bool, bool>(a, b, DType::b8, n, [](bool x, bool y) { return x && y; });
      case Binary::logical_or: return map2<bool, bool>(a, b, DType::b8, n, [](bool x, bool y) { return x || y; });
      default: return map2<bool, bool>(a, b, DType::b8, n, [](bool x, bool y) { return x != y; });
    }
  }
  if (op >= Binary::less)
    return TT_DISPATCH_ALL(a.dtype, n, [&](auto tag) { return comparison<decltype(tag)>(op, a, b); });
  TT_TYPE_CHECK(is_numeric(a.dtype), n, ": expected numeric tensors, got bool");
  TT_TYPE_CHECK(op != Binary::div || is_floating(a.dtype), n, ": expected float tensors, got ", dtype_name(a.dtype));
  return TT_DISPATCH_ALL(a.dtype, n, [&](auto tag) -> Tensor {
    using T = decltype(tag);
    if constexpr (std::is_same<T, bool>::value) return Tensor();
    else return arithmetic<T>(op, a, b);
  });
}

Tensor where(const Tensor& cond, const Tensor& x, const Tensor& y) {
  TT_TYPE_CHECK(cond.dtype == DType::b8, "where: condition must be a bool tensor, got ", dtype_name(cond.dtype));
  TT_TYPE_CHECK(x.dtype == y.dtype, "where: x and y must have the same dtype, got ", dtype_name(x.dtype), " and ",
                dtype_name(y.dtype));
  const Shape shape = broadcast_shapes(broadcast_shapes(cond.shape, x.shape, "where"), y.shape, "where");
  Tensor out = Tensor::empty(shape, x.dtype);
  const Shape sc = broadcast_strides(cond, shape), sx = broadcast_strides(x, shape), sy = broadcast_strides(y, shape);
  TT_DISPATCH_ALL(x.dtype, "where", [&](auto tag) {
    using T = decltype(tag);
    constexpr int64_t isz = sizeof(T);
    for_each_row<4>(shape, {&out.strides, &sc, &sx, &sy}, {isz, 1, isz, isz}, {out.raw(), cond.raw(), x.raw(), y.raw()},
                    kElementwiseGrain, [&](char** p, int64_t n, const int64_t* s) {
                      T* o = reinterpret_cast<T*>(p[0]);
                      if (s[1] == 1 && s[2] == isz && s[3] == isz) {
                        // A bit mask instead of a branch on a (typically random) condition:
                        // it vectorises and never mispredicts.
                        using U = std::conditional_t<isz == 1, uint8_t, std::conditional_t<isz == 4, uint32_t, uint64_t>>;
                        const uint8_t* c = reinterpret_cast<const uint8_t*>(p[1]);
                        const T* a = reinterpret_cast<const T*>(p[2]);
                        const T* b = reinterpret_cast<const T*>(p[3]);
                        for (int64_t i = 0; i < n; ++i) {
                          U au, bu;
                          std::memcpy(&au, a + i, sizeof au);
                          std::memcpy(&bu, b + i, sizeof bu);
                          const U m = U(0) - U(c[i] != 0), r = (au & m) | (bu & ~m);
                          std::memcpy(o + i, &r, sizeof r);
                        }
                        return;
                      }
                      for (int64_t i = 0; i < n; ++i)
                        o[i] = *reinterpret_cast<const bool*>(p[1] + i * s[1]) ? *reinterpret_cast<const T*>(p[2] + i * s[2])
                                                                              : *reinterpret_cast<const T*>(p[3] + i * s[3]);
                    });
  });
  return out;
}

}  // namespace tt::kernels
