// avx2 kernels (compiled with the avx2 -m flags; only called when isa_supported says so).
#include "kernels/cpu/kernels.h"

namespace orchard::cpu {

const IsaKernels& avx2_kernels() {
  static const IsaKernels table = [] {
    IsaKernels k = generic_kernels();  // entries not overridden here stay generic
    k.isa = Isa::Avx2;
    return k;
  }();
  return table;
}

}  // namespace orchard::cpu
