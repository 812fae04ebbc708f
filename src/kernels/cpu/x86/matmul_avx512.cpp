// avx512 kernels (compiled with the avx512 -m flags; only called when isa_supported says so).
#include "kernels/cpu/kernels.h"

namespace orchard::cpu {

const IsaKernels& avx512_kernels() {
  static const IsaKernels table = [] {
    IsaKernels k = generic_kernels();  // entries not overridden here stay generic
    k.isa = Isa::Avx512;
    return k;
  }();
  return table;
}

}  // namespace orchard::cpu
