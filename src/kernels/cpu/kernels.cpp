#include "kernels/cpu/kernels.h"

namespace orchard::cpu {

const IsaKernels& kernels_for(Isa isa) {
  switch (isa) {
#if defined(__x86_64__)
    case Isa::Avx2: return avx2_kernels();
    case Isa::Avx512: return avx512_kernels();
    case Isa::Amx: return amx_kernels();
#endif
#if defined(__aarch64__)
    case Isa::Neon: return neon_kernels();
    case Isa::NeonI8mm: return neon_i8mm_kernels();
#endif
    default: return generic_kernels();
  }
}

}  // namespace orchard::cpu
