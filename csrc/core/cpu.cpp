#include "cpu.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "check.h"

namespace tt {
namespace {

Isa detect() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq"))
    return Isa::avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::avx2;
#endif
  return Isa::scalar;
}

Isa from_env(Isa best) {
  const char* env = std::getenv("TINYTF_ISA");
  if (!env || !*env) return best;
  Isa want = best;
  if (!std::strcmp(env, "scalar")) want = Isa::scalar;
  else if (!std::strcmp(env, "avx2")) want = Isa::avx2;
  else if (!std::strcmp(env, "avx512")) want = Isa::avx512;
  return want < best ? want : best;
}

std::atomic<int>& current() {
  static std::atomic<int> v{int(from_env(cpu_best_isa()))};
  return v;
}

}  // namespace

Isa cpu_best_isa() {
  static const Isa best = detect();
  return best;
}

Isa isa() { return Isa(current().load(std::memory_order_relaxed)); }

void set_isa(Isa i) {
  TT_CHECK(int(i) <= int(cpu_best_isa()), "set_isa: this CPU cannot run ", isa_name(i), " (best is ",
           isa_name(cpu_best_isa()), ")");
  current().store(int(i));
}

const char* isa_name(Isa i) {
  switch (i) {
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
  }
  return "?";
}

}  // namespace tt
