#include "kernels/cpu/kernels.h"

namespace orchard::cpu {

const IsaKernels& kernels_for(Isa isa) {
  switch (isa) {
#if defined(__x86_64__)
    case Isa::Avx2: return avx2_kernels();
    case Isa::Avx512: return avx512_kernels();
#endif
    default: return generic_kernels();
  }
}

}  // namespace orchard::cpu
