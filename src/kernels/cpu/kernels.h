#pragma once
// The per-ISA dispatch table: the few inner loops that have vectorized versions. Generic code
// (matmul driver, attention, norms) calls through this table; each ISA file fills its own.
#include <array>
#include <cstddef>
#include <cstdint>

#include "core/dtype.h"
#include "core/tensor.h"
#include "kernels/cpu/isa.h"
#include "quant/quant.h"

namespace orchard {
class ThreadPool;
}

namespace orchard::cpu {

// Register-tile sizes of the matmul: one tile call computes up to kTileRows weight rows
// against up to kTileTokens activation rows, so each weight byte loaded feeds several tokens.
inline constexpr int kTileRows = 4;
inline constexpr int kTileTokens = 4;

// One tile of y = x * w^T: y[t * y_stride + r] = dot(weight row r, activation row t) for
// r < rows <= kTileRows, t < tokens <= kTileTokens, over k elements (whole blocks of w_type).
struct MatmulTile {
  DType w_type;          // weight type (the activations are in its vec_dot_type)
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

// A whole-matrix kernel for prompt batches (e.g. AMX tiles): y[n, rows] = x * w^T with x
// already quantized to w's vec_dot_type, rows x_stride bytes apart. Returns false to decline
// (a weight type or shape it does not handle); the driver then uses the tile kernels.
using BatchMatmulFn = bool (*)(ThreadPool& pool, const Tensor& w, const void* x, size_t x_stride, float* y, int64_t n);

struct IsaKernels {
  Isa isa;
  // By dtype_index(weight type): the tile kernel for that weight type against activations in
  // its vec_dot_type (quant/quant.h). Null: no kernel on this ISA, the driver decodes the
  // weight rows to f32 and uses the f32 tile.
  std::array<MatmulTileFn, kDTypeCount> tiles{};
  // By dtype_index(activation type): a fast quantizer into that activation format; null uses
  // the reference encoder (quantize_row). Must produce the same bytes as the reference.
  std::array<FromFloatFn, kDTypeCount> quantize_activations{};
  BatchMatmulFn batch_matmul = nullptr;  // used for n >= batch_min_tokens when set
  int64_t batch_min_tokens = 0;
  float (*dot)(const float* a, const float* b, int64_t n) = nullptr;
  void (*axpy)(float a, const float* x, float* y, int64_t n) = nullptr;  // y += a * x
  void (*silu_mul)(float* gate, const float* up, int64_t n) = nullptr;   // gate = silu(gate) * up
  float (*exp_sum)(float* x, int64_t n, float shift) = nullptr;          // x = e^(x - shift), returns sum(x)

  MatmulTileFn tile(DType w) const { return tiles[dtype_index(w)]; }
  void set_tile(DType w, MatmulTileFn fn) { tiles[dtype_index(w)] = fn; }
};

const IsaKernels& generic_kernels();
#if defined(__x86_64__)
const IsaKernels& avx2_kernels();
const IsaKernels& avx512_kernels();
const IsaKernels& amx_kernels();  // avx512's table plus the AMX batch kernel
#endif
#if defined(__aarch64__)
const IsaKernels& neon_kernels();
const IsaKernels& neon_i8mm_kernels();
#endif
// The table for `isa` (which must be supported, see isa_supported).
const IsaKernels& kernels_for(Isa isa);

}  // namespace orchard::cpu
