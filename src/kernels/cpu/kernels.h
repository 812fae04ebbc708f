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

// One key block of one KV head for attention's row kernels: `n_keys` cache rows of
// `head_dim` elements in the cache type, `row_stride` bytes apart, and the softmax weights
// of the `group` query heads sharing the head, scores[g * score_stride + j] for key j.
struct KvBlock {
  const uint8_t* rows;
  size_t row_stride;
  int64_t n_keys;
  int64_t group;
  int64_t head_dim;
  float* scores;
  int64_t score_stride;
};
// scores[g, j] = scale * dot(key row j, query row g); the query rows are in the cache type's
// vec_dot_type (f32 for f32/f16 caches, q8_0 for q8_0), q_stride bytes apart.
using KvScoresFn = void (*)(const KvBlock& b, const void* q, size_t q_stride, float scale);
// out[g * head_dim + i] += sum_j scores[g, j] * value row j [i].
using KvAccumulateFn = void (*)(const KvBlock& b, float* out);
struct KvKernels {
  KvScoresFn scores = nullptr;
  KvAccumulateFn accumulate = nullptr;
};

// The one-token (decode) product y = w x for a weight type, with its own activation layout:
// prepare() quantizes x (k floats) into act_bytes(k) bytes arranged for rows(), which computes
// y[r] for `rows` consecutive weight rows w_stride bytes apart.
struct GemvKernel {
  size_t (*act_bytes)(int64_t k) = nullptr;
  void (*prepare)(const float* x, void* act, int64_t k) = nullptr;
  void (*rows)(const uint8_t* w, size_t w_stride, int64_t rows, const void* act, int64_t k, float* y) = nullptr;
};

struct IsaKernels {
  Isa isa;
  // By dtype_index(weight type): the tile kernel for that weight type against activations in
  // its vec_dot_type (quant/quant.h). Null: no kernel on this ISA, the driver decodes the
  // weight rows to f32 and uses the f32 tile.
  std::array<MatmulTileFn, kDTypeCount> tiles{};
  // By dtype_index(activation type): a fast quantizer into that activation format; null uses
  // the reference encoder (quantize_row). Must produce the same bytes as the reference.
  std::array<FromFloatFn, kDTypeCount> quantize_activations{};
  // By dtype_index(weight type): the n = 1 kernel used instead of the tiles; null: the tiles.
  std::array<GemvKernel, kDTypeCount> gemv{};
  BatchMatmulFn batch_matmul = nullptr;  // used for n >= batch_min_tokens when set
  int64_t batch_min_tokens = 0;
  float (*dot)(const float* a, const float* b, int64_t n) = nullptr;
  void (*axpy)(float a, const float* x, float* y, int64_t n) = nullptr;  // y += a * x
  void (*silu_mul)(float* gate, const float* up, int64_t n) = nullptr;   // gate = silu(gate) * up
  float (*exp_sum)(float* x, int64_t n, float shift) = nullptr;          // x = e^(x - shift), returns sum(x)
  // By dtype_index(KV cache type): attention's row kernels for f32, f16 and q8_0 caches.
  std::array<KvKernels, kDTypeCount> kv{};

  MatmulTileFn tile(DType w) const { return tiles[dtype_index(w)]; }
  void set_tile(DType w, MatmulTileFn fn) { tiles[dtype_index(w)] = fn; }
  const KvKernels& kv_kernels(DType cache) const { return kv[dtype_index(cache)]; }
  void set_kv_kernels(DType cache, KvKernels fns) { kv[dtype_index(cache)] = fns; }
};

const IsaKernels& generic_kernels();
// The reference KV row kernels (through each cache type's QuantTraits), for tables without their own.
void add_reference_kv_kernels(IsaKernels& k);
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
