// Run-time choice of the instruction set for the hot kernels. The library is
// compiled for baseline x86-64 (or aarch64); files named *_avx2.cpp and
// *_avx512.cpp are compiled with those flags and only called when the CPU
// has the feature. TINYTF_ISA=scalar|avx2|avx512 forces a level (capped by
// what the CPU can run).
#pragma once

namespace tt {

enum class Isa { scalar = 0, avx2 = 1, avx512 = 2 };

Isa cpu_best_isa();     // the best level this CPU supports
Isa isa();              // the level kernels use now
void set_isa(Isa isa);  // raises ValueError if the CPU cannot run it
const char* isa_name(Isa isa);

}  // namespace tt
