#pragma once
// The per-ISA dispatch table: the few inner loops that have vectorized versions. Generic code
// (matmul driver, attention, norms) calls through this table; each ISA file fills its own.
#include <cstddef>
#include <cstdint>

#include "kernels/cpu/isa.h"

namespace orchard::cpu {

// Register-tile sizes of the matmul: one tile call computes up to kTileRows weight rows
// against up to kTileTokens activation rows, so each weight byte loaded feeds several tokens.
inline constexpr int kTileRows = 4;
inline constexpr int kTileTokens = 4;

// One tile of y = x * w^T: y[t * y_stride + r] = dot(weight row r, activation row t) for
// r < rows <= kTileRows, t < tokens <= kTileTokens, over k elements (a multiple of 32).
struct MatmulTile {
  const uint8_t* w;      // first weight row
  size_t w_stride;       // bytes between weight rows
  const void* x;         // first activation row, in the kernel's activation format
  size_t x_stride;       // bytes between activation rows
  float* y;
  int64_t y_stride;      // floats between output rows (tokens)
  int rows, tokens;
  int64_t k;
};
using MatmulTileFn = void (*)(const MatmulTile&);

struct IsaKernels {
  Isa isa;
  // Weight format x activation format. The f32/f16/bf16 kernels take f32 activations; the
  // q8_0/q4_0 kernels take activations quantized to q8_0 blocks (as llama.cpp does).
  MatmulTileFn f32_f32;
  MatmulTileFn f16_f32;
  MatmulTileFn bf16_f32;
  MatmulTileFn q8_0_q8_0;
  MatmulTileFn q4_0_q8_0;
  float (*dot)(const float* a, const float* b, int64_t n);
  void (*axpy)(float a, const float* x, float* y, int64_t n);  // y += a * x
  void (*silu_mul)(float* gate, const float* up, int64_t n);  // gate = silu(gate) * up
  float (*exp_sum)(float* x, int64_t n, float shift);          // x = e^(x - shift), returns sum(x)
};

const IsaKernels& generic_kernels();
#if defined(__x86_64__)
const IsaKernels& avx2_kernels();
const IsaKernels& avx512_kernels();
#endif
// The table for `isa` (which must be supported, see isa_supported).
const IsaKernels& kernels_for(Isa isa);

}  // namespace orchard::cpu
