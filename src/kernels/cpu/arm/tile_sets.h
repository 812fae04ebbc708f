#pragma once
// Kernel sets of the NEON table kept in files of their own (<family>_neon.cpp).
#include "kernels/cpu/kernels.h"

namespace orchard::cpu {

// The q8_0 / q8_1 / q8_K activation quantizers (q8_activations_neon.cpp).
void add_q8_activation_quantizers_neon(IsaKernels& k);
// q2_K .. q6_K weights against q8_K activations (k_quants_neon.cpp).
void add_k_quant_tiles_neon(IsaKernels& k);

}  // namespace orchard::cpu
