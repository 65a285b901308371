// Argument checks that become Python exceptions (never aborts):
//   TT_CHECK(cond, "matmul: ", ...)       -> ValueError
//   TT_TYPE_CHECK(cond, ...)              -> TypeError
//   TT_INDEX_CHECK(cond, ...)             -> IndexError
// The binding registers a translator for each exception class below.
#pragma once
#include <new>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace tt {

struct value_error : std::invalid_argument { using std::invalid_argument::invalid_argument; };
struct type_error : std::invalid_argument { using std::invalid_argument::invalid_argument; };
struct index_error : std::out_of_range { using std::out_of_range::out_of_range; };
struct memory_error : std::bad_alloc {
  explicit memory_error(std::string m) : msg(std::move(m)) {}
  const char* what() const noexcept override { return msg.c_str(); }
  std::string msg;
};

namespace detail {
template <typename T>
void put(std::ostringstream& os, const T& v) { os << v; }
template <typename T>
void put(std::ostringstream& os, const std::vector<T>& v) {
  os << '(';
  for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
  os << (v.size() == 1 ? ",)" : ")");
}
template <typename... Args>
std::string cat(const Args&... args) {
  std::ostringstream os;
  (put(os, args), ...);
  return os.str();
}
}  // namespace detail

}  // namespace tt

#define TT_FAIL_AS(EXC, ...) throw EXC(::tt::detail::cat(__VA_ARGS__))
#define TT_CHECK(cond, ...) do { if (!(cond)) TT_FAIL_AS(::tt::value_error, __VA_ARGS__); } while (0)
#define TT_TYPE_CHECK(cond, ...) do { if (!(cond)) TT_FAIL_AS(::tt::type_error, __VA_ARGS__); } while (0)
#define TT_INDEX_CHECK(cond, ...) do { if (!(cond)) TT_FAIL_AS(::tt::index_error, __VA_ARGS__); } while (0)
#define TT_TYPE_ERROR(...) TT_FAIL_AS(::tt::type_error, __VA_ARGS__)
