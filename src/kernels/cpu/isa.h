#pragma once
// Instruction-set levels the CPU kernels are written for. The best one the running CPU
// supports is picked once at start-up; tests and benchmarks may force a lower one.
#include <string_view>
#include <vector>

namespace orchard::cpu {

enum class Isa {
  Generic,  // plain C++, any CPU
  Avx2,     // x86-64 AVX2 + FMA + F16C
  Avx512,   // x86-64 AVX-512 F/BW/VL/DQ + VNNI + BF16
};

std::string_view isa_name(Isa isa);
bool isa_supported(Isa isa);      // by this build and this CPU
Isa best_isa();                   // highest supported level
std::vector<Isa> supported_isas();  // every supported level, Generic first

}  // namespace orchard::cpu
