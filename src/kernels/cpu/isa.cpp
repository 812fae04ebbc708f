#include "kernels/cpu/isa.h"

#include <cstdlib>
#include <string>

#include "core/error.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace orchard::cpu {
namespace {

constexpr Isa kAll[] = {Isa::Generic, Isa::Avx2, Isa::Avx512, Isa::Amx, Isa::Neon, Isa::NeonI8mm};

#if defined(__x86_64__)
// F16C straight from CPUID (leaf 1, ECX bit 29): clang's __builtin_cpu_supports has no "f16c".
bool has_f16c() {
  unsigned eax, ebx, ecx, edx;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C);
}
#endif

}  // namespace

// Defined by the ISA's own file (it knows what the OS must grant first).
#if defined(__x86_64__)
bool amx_usable();
#endif
#if defined(__aarch64__)
bool neon_dotprod_usable();
bool neon_i8mm_usable();
#endif

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::Generic: return "generic";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
    case Isa::Amx: return "amx";
    case Isa::Neon: return "neon";
    case Isa::NeonI8mm: return "neon-i8mm";
  }
  return "unknown";
}

bool isa_supported(Isa isa) {
  switch (isa) {
    case Isa::Generic: return true;
#if defined(__x86_64__)
    case Isa::Avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && has_f16c();
    case Isa::Avx512:
      return isa_supported(Isa::Avx2) && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512vnni");
    case Isa::Amx: return isa_supported(Isa::Avx512) && amx_usable();
#endif
#if defined(__aarch64__)
    case Isa::Neon: return neon_dotprod_usable();
    case Isa::NeonI8mm: return neon_dotprod_usable() && neon_i8mm_usable();
#endif
    default: return false;
  }
}

Isa best_isa() {
  static const Isa best = [] {
    Isa best = Isa::Generic;
    for (Isa isa : kAll)
      if (isa_supported(isa)) best = isa;
    return best;
  }();
  return best;
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa isa : kAll)
    if (isa_supported(isa)) out.push_back(isa);
  return out;
}

Isa selected_isa() {
  const char* forced = std::getenv("ORCHARD_ISA");
  if (!forced || !*forced) return best_isa();
  std::string supported;
  for (Isa isa : supported_isas()) supported += (supported.empty() ? "" : ", ") + std::string(isa_name(isa));
  for (Isa isa : kAll) {
    if (isa_name(isa) != forced) continue;
    if (!isa_supported(isa))
      throw Error("ORCHARD_ISA=" + std::string(forced) + ": this CPU or build cannot run it (supported here: " +
                  supported + ")");
    return isa;
  }
  throw Error("ORCHARD_ISA=" + std::string(forced) +
              " is not an instruction set orchard knows (generic, avx2, avx512, amx, neon, neon-i8mm; supported here: " +
              supported + ")");
}

}  // namespace orchard::cpu
