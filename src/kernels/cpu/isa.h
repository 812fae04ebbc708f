#pragma once
// Instruction-set levels the CPU kernels are written for. The best one the running CPU
// supports is picked once at start-up (ORCHARD_ISA=generic|avx2|avx512|amx|neon|neon-i8mm
// forces one); tests and benchmarks may ask for any supported level.
#include <string_view>
#include <vector>

namespace orchard::cpu {

enum class Isa {
  Generic,   // plain C++, any CPU
  Avx2,      // x86-64 AVX2 + FMA + F16C
  Avx512,    // x86-64 AVX-512 F/BW/VL/DQ + VNNI + BF16
  Amx,       // Avx512 + AMX-INT8 tiles (Sapphire Rapids and later) for prompt batches
  Neon,      // aarch64 Advanced SIMD + dot product (Apple M1 and later, Graviton 2+)
  NeonI8mm,  // Neon + the int8 matrix multiply instructions (Apple M2+, Graviton 3+)
};

std::string_view isa_name(Isa isa);
bool isa_supported(Isa isa);        // by this build and this CPU (and OS, for AMX)
Isa best_isa();                     // highest supported level
std::vector<Isa> supported_isas();  // every supported level, Generic first
// The level the CPU backend uses: ORCHARD_ISA when set (throws orchard::Error if the value is
// unknown or not supported here, listing what is), else best_isa().
Isa selected_isa();

}  // namespace orchard::cpu
