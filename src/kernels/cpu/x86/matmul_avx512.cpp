// AVX-512 kernels: the float-weight tiles (16-wide FMA; 32 vector registers hold a whole 4 x 4
// tile of accumulators), attention's vector helpers, and the table (the quantized formats'
// tiles are registered from their own files, tile_sets.h).
#include <immintrin.h>

// GCC 12's AVX-512 intrinsics start from an undefined vector (e.g. _mm512_zextsi256_si512,
// _mm512_cvtph_ps) and warn about it wherever they are inlined: a false positive.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/cpu/kernels.h"
#include "kernels/cpu/vector_math.h"
#include "kernels/cpu/x86/panel_matmul.h"
#include "kernels/cpu/x86/tile_dispatch.h"
#include "kernels/cpu/x86/tile_sets.h"

// Everything here lives in its own namespace: code built with avx512 flags must never share a
// symbol name with code built for another ISA, or the linker could merge the two.
namespace orchard::cpu::avx512 {
namespace {


// Weight rows are streamed once per token (decode): prefetching ~1 KB ahead of each of a
// tile's row streams keeps more memory requests in flight than the hardware prefetcher does.
inline void prefetch_ahead(const void* p) { _mm_prefetch(static_cast<const char*>(p) + 1024, _MM_HINT_T0); }

const float* act_row(const MatmulTile& t, int j) {
  return reinterpret_cast<const float*>(static_cast<const uint8_t*>(t.x) + j * t.x_stride);
}

// ---- f32 / f16 / bf16 weights, f32 activations ----

struct LoadF32 {
  static constexpr int kBytes = 4;  // per weight
  static __m512 load(const uint8_t* row, int64_t i) { return _mm512_loadu_ps(reinterpret_cast<const float*>(row) + i); }
};
struct LoadF16 {
  static constexpr int kBytes = 2;
  static __m512 load(const uint8_t* row, int64_t i) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 2 * i)));
  }
};
struct LoadBF16 {  // bf16 is the top half of an f32
  static constexpr int kBytes = 2;
  static __m512 load(const uint8_t* row, int64_t i) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 2 * i));
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
};

template <class Load>
struct FloatTile {
  template <int R, int T>
  struct Of {
    static void run(const MatmulTile& t) {
      __m512 acc[R][T];
      for (auto& row : acc)
        for (auto& a : row) a = _mm512_setzero_ps();
      for (int64_t i = 0; i < t.k; i += 16) {
        __m512 x[T];
        for (int j = 0; j < T; ++j) x[j] = _mm512_loadu_ps(act_row(t, j) + i);
        for (int r = 0; r < R; ++r) {
          prefetch_ahead(t.w + r * t.w_stride + i * Load::kBytes);
          const __m512 w = Load::load(t.w + r * t.w_stride, i);
          for (int j = 0; j < T; ++j) acc[r][j] = _mm512_fmadd_ps(w, x[j], acc[r][j]);
        }
      }
      for (int r = 0; r < R; ++r)
        for (int j = 0; j < T; ++j) t.y[j * t.y_stride + r] = _mm512_reduce_add_ps(acc[r][j]);
    }
  };
};

// ---- vector helpers for attention ----

float dot(const float* a, const float* b, int64_t n) {
  __m512 acc = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc);
  if (i < n) {  // masked tail
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc);
  }
  return _mm512_reduce_add_ps(acc);
}

void axpy(float a, const float* x, float* y, int64_t n) {
  const __m512 va = _mm512_set1_ps(a);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
  }
}

}  // namespace
}  // namespace orchard::cpu::avx512

namespace orchard::cpu {

const IsaKernels& avx512_kernels() {
  using namespace avx512;
  static const IsaKernels table = [] {
    IsaKernels k{.isa = Isa::Avx512, .dot = dot, .axpy = axpy, .silu_mul = silu_mul_loop, .exp_sum = exp_sum_loop};
    k.set_tile(DType::F32, dispatch_tile<FloatTile<LoadF32>::Of>);
    k.set_tile(DType::F16, dispatch_tile<FloatTile<LoadF16>::Of>);
    k.set_tile(DType::BF16, dispatch_tile<FloatTile<LoadBF16>::Of>);
    add_mlx_affine_tiles_avx512(k);
    add_k_quant_tiles_avx512(k);
    // Prompt batches: the panel kernel unpacks 16 weight rows once and reuses them for every
    // token; below a few tokens the unpack costs more than it saves (decode stays on tiles).
    k.batch_matmul = avx512_panel::batch_matmul;
    k.batch_min_tokens = 8;
    add_kv_kernels_avx512(k);
    add_legacy_quant_tiles_avx512(k);
    return k;
  }();
  return table;
}

}  // namespace orchard::cpu
