#pragma once
// Tile sets beyond the float-weight ones (f32/f16/bf16), one family per file
// (<family>_<isa>.cpp); each add_* registers its tiles into that ISA's table.
#include "kernels/cpu/kernels.h"

namespace orchard::cpu {

// MLX affine weights (MLX_Q*_G*) against q8_0 activations.
void add_mlx_affine_tiles_avx2(IsaKernels& k);
void add_mlx_affine_tiles_avx512(IsaKernels& k);

// Attention's KV row kernels for f32, f16 and q8_0 caches (kv_rows.h).
void add_kv_kernels_avx2(IsaKernels& k);
void add_kv_kernels_avx512(IsaKernels& k);

// The 32-element formats (q4_0 / q4_1 / q5_0 / q5_1 / q8_0 / iq4_nl) against q8_0 or q8_1
// activations, and the q8_0 / q8_1 activation quantizers.
void add_legacy_quant_tiles_avx2(IsaKernels& k);
void add_legacy_quant_tiles_avx512(IsaKernels& k);

// q2_K .. q6_K weights against q8_K activations, and the q8_K activation quantizer.
void add_k_quant_tiles_avx2(IsaKernels& k);
void add_k_quant_tiles_avx512(IsaKernels& k);

}  // namespace orchard::cpu
