// AMX-INT8 batch matmul for prompt batches. Placeholder table until the AMX kernel lands:
// the avx512 table with no batch kernel, and amx_usable() false, so nothing selects it.
#include "kernels/cpu/kernels.h"

namespace orchard::cpu {

bool amx_usable() { return false; }

const IsaKernels& amx_kernels() {
  static const IsaKernels table = [] {
    IsaKernels k = avx512_kernels();
    k.isa = Isa::Amx;
    return k;
  }();
  return table;
}

}  // namespace orchard::cpu
