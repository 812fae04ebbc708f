#pragma once
// Tile kernels for MLX affine weights (MLX_Q*_G*) against q8_0 activations, per ISA. The
// integrator registers them into that ISA's table; tests may build a table of their own.
#include "kernels/cpu/kernels.h"

namespace orchard::cpu {

void add_mlx_affine_tiles_avx2(IsaKernels& k);
void add_mlx_affine_tiles_avx512(IsaKernels& k);

}  // namespace orchard::cpu
