// Whether AMX can run here, and the amx kernel table: avx512's kernels (decode, small
// batches) plus the AMX batch matmul for prompts.
#include <asm/prctl.h>
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kernels/cpu/kernels.h"
#include "kernels/cpu/x86/matmul_amx.h"
#include "kernels/cpu/x86/panel_matmul.h"

namespace orchard::cpu {
namespace {

// Linux keeps the 8 KB tile state off until a process asks for it (ARCH_REQ_XCOMP_PERM);
// without that grant the first tile instruction faults.
constexpr int kArchReqXcompPerm = 0x1023;
constexpr int kXfeatureXtileData = 18;

bool cpu_has_amx_int8() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  constexpr unsigned kAmxInt8 = 1u << 25, kAmxTile = 1u << 24;  // CPUID.(7,0):EDX
  return (edx & kAmxTile) && (edx & kAmxInt8);
}

}  // namespace

bool amx_usable() {
  static const bool usable = cpu_has_amx_int8() && syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtileData) == 0;
  return usable;
}

const IsaKernels& amx_kernels() {
  static const IsaKernels table = [] {
    IsaKernels k = avx512_kernels();
    k.isa = Isa::Amx;
    // AMX for the formats it has tiles for, the AVX-512 panel kernel for the rest.
    k.batch_matmul = [](ThreadPool& pool, const Tensor& w, const void* x, size_t x_stride, float* y, int64_t n) {
      return amx::batch_matmul(pool, w, x, x_stride, y, n) || avx512_panel::batch_matmul(pool, w, x, x_stride, y, n);
    };
    // A batch pass converts every weight row to tile layout, which pays off once a full
    // 16-token group reuses it: measured on TinyLlama q8_0, 2 threads, pp16 is even with the
    // avx512 tiles and pp32 1.5x faster; fewer tokens (decode) stay on the avx512 tiles.
    k.batch_min_tokens = 16;
    return k;
  }();
  return table;
}

}  // namespace orchard::cpu
