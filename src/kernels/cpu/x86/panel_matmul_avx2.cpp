// The prompt-batch panel matmul (panel_matmul_impl.h) on AVX2: 8-row panels; the byte dot is
// vpmaddubsw (u8 x s8 pairs into int16) then vpmaddwd into int32. Pairs of 63 x 127 fit in
// int16, 255 x 127 would saturate: formats of at most 6 bits only (q4/q5/q6, k-quants, MLX
// 4-bit); q8_0, iq4_nl and 8-bit MLX stay on the AVX2 tiles.
#include <immintrin.h>

#include "kernels/cpu/x86/panel_matmul.h"
#include "kernels/cpu/x86/panel_matmul_impl.h"

namespace orchard::cpu::avx2_panel {
namespace {

struct V {
  static constexpr int kRows = 8;
  static constexpr int kMaxQuant = 63;
  using I = __m256i;
  using F = __m256;
  static I zero_i() { return _mm256_setzero_si256(); }
  static F zero_f() { return _mm256_setzero_ps(); }
  static I load_i(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static F load_f(const float* p) { return _mm256_loadu_ps(p); }
  static I dot(I acc, I w, int32_t x4) {
    const I pairs = _mm256_maddubs_epi16(w, _mm256_set1_epi32(x4));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
  }
  static F to_float(I v) { return _mm256_cvtepi32_ps(v); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F fmadd(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static F set1(float v) { return _mm256_set1_ps(v); }
  static void store_first(float* y, F v, int n) {
    if (n == kRows) return _mm256_storeu_ps(y, v);
    alignas(32) float lanes[kRows];
    _mm256_store_ps(lanes, v);
    for (int i = 0; i < n; ++i) y[i] = lanes[i];
  }
};

}  // namespace

bool batch_matmul(ThreadPool& pool, const Tensor& w, const void* x, size_t x_stride, float* y, int64_t n) {
  return panel_impl::batch_matmul<V>(pool, w, x, x_stride, y, n);
}

}  // namespace orchard::cpu::avx2_panel
