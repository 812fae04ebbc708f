// AVX2 + FMA + F16C kernels: the float-weight tiles, attention's vector helpers, and the table
// (the quantized formats' tiles are registered from their own files, tile_sets.h). AVX2 has
// 16 vector registers, so a tile is computed two tokens at a time (R x 2 accumulators plus R
// weight vectors stay in registers).
#include <immintrin.h>

#include <algorithm>

#include "kernels/cpu/kernels.h"
#include "kernels/cpu/vector_math.h"
#include "kernels/cpu/x86/panel_matmul.h"
#include "kernels/cpu/x86/tile_dispatch.h"
#include "kernels/cpu/x86/tile_sets.h"

// Everything here lives in its own namespace: code built with avx2 flags must never share a
// symbol name with code built for another ISA, or the linker could merge the two.
namespace orchard::cpu::avx2 {
namespace {

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Weight rows are streamed once per token (decode): prefetching ~1 KB ahead of each of a
// tile's row streams keeps more memory requests in flight than the hardware prefetcher does.
inline void prefetch_ahead(const void* p) { _mm_prefetch(static_cast<const char*>(p) + 1024, _MM_HINT_T0); }

const float* act_row(const MatmulTile& t, int j) {
  return reinterpret_cast<const float*>(static_cast<const uint8_t*>(t.x) + j * t.x_stride);
}

// Runs Pass<R, T2>(tile, first token) over the tile's tokens two at a time.
template <int R, int T, template <int, int> class Pass>
void in_token_pairs(const MatmulTile& t) {
  if constexpr (T >= 2) Pass<R, 2>::run(t, 0);
  if constexpr (T == 1 || T == 3) Pass<R, 1>::run(t, T - 1);
  if constexpr (T == 4) Pass<R, 2>::run(t, 2);
}

// ---- f32 / f16 / bf16 weights, f32 activations ----

struct LoadF32 {
  static constexpr int kBytes = 4;  // per weight
  static __m256 load(const uint8_t* row, int64_t i) { return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + i); }
};
struct LoadF16 {
  static constexpr int kBytes = 2;
  static __m256 load(const uint8_t* row, int64_t i) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * i)));
  }
};
struct LoadBF16 {  // bf16 is the top half of an f32
  static constexpr int kBytes = 2;
  static __m256 load(const uint8_t* row, int64_t i) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * i));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
};

template <class Load>
struct FloatPass {
  template <int R, int T>
  struct Of {
    static void run(const MatmulTile& t, int j0) {
      __m256 acc[R][T];
      for (auto& row : acc)
        for (auto& a : row) a = _mm256_setzero_ps();
      for (int64_t i = 0; i < t.k; i += 8) {
        __m256 x[T];
        for (int j = 0; j < T; ++j) x[j] = _mm256_loadu_ps(act_row(t, j0 + j) + i);
        for (int r = 0; r < R; ++r) {
          prefetch_ahead(t.w + r * t.w_stride + i * Load::kBytes);
          const __m256 w = Load::load(t.w + r * t.w_stride, i);
          for (int j = 0; j < T; ++j) acc[r][j] = _mm256_fmadd_ps(w, x[j], acc[r][j]);
        }
      }
      for (int r = 0; r < R; ++r)
        for (int j = 0; j < T; ++j) t.y[(j0 + j) * t.y_stride + r] = hsum(acc[r][j]);
    }
  };
};

template <class Load>
struct FloatTile {
  template <int R, int T>
  struct Of {
    static void run(const MatmulTile& t) { in_token_pairs<R, T, FloatPass<Load>::template Of>(t); }
  };
};

// ---- vector helpers for attention ----

float dot(const float* a, const float* b, int64_t n) {
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
  float sum = hsum(acc);
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

void axpy(float a, const float* x, float* y, int64_t n) {
  const __m256 va = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] += a * x[i];
}

}  // namespace
}  // namespace orchard::cpu::avx2

namespace orchard::cpu {

const IsaKernels& avx2_kernels() {
  using namespace avx2;
  static const IsaKernels table = [] {
    IsaKernels k{.isa = Isa::Avx2, .dot = dot, .axpy = axpy, .silu_mul = silu_mul_loop, .exp_sum = exp_sum_loop};
    k.set_tile(DType::F32, dispatch_tile<FloatTile<LoadF32>::Of>);
    k.set_tile(DType::F16, dispatch_tile<FloatTile<LoadF16>::Of>);
    k.set_tile(DType::BF16, dispatch_tile<FloatTile<LoadBF16>::Of>);
    add_mlx_affine_tiles_avx2(k);
    add_k_quant_tiles_avx2(k);
    add_kv_kernels_avx2(k);
    add_legacy_quant_tiles_avx2(k);
    // Prompt batches of the formats up to 6 bits: the panel kernel (see matmul_avx512.cpp).
    k.batch_matmul = avx2_panel::batch_matmul;
    k.batch_min_tokens = 8;
    return k;
  }();
  return table;
}

}  // namespace orchard::cpu
