// The prompt-batch panel matmul (panel_matmul_impl.h) on AVX-512 VNNI: 16-row panels, one
// vpdpbusd per 4 elements x 16 rows, the token's 4 bytes broadcast; takes every format.
#include <immintrin.h>

#include "kernels/cpu/x86/panel_matmul.h"
#include "kernels/cpu/x86/panel_matmul_impl.h"

// GCC 12's AVX-512 intrinsics start from an undefined vector and warn about it: a false positive.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace orchard::cpu::avx512_panel {
namespace {

struct V {
  static constexpr int kRows = 16;
  static constexpr int kMaxQuant = 255;  // vpdpbusd: u8 x s8 into int32, no intermediate overflow
  using I = __m512i;
  using F = __m512;
  static I zero_i() { return _mm512_setzero_si512(); }
  static F zero_f() { return _mm512_setzero_ps(); }
  static I load_i(const uint8_t* p) { return _mm512_loadu_si512(p); }
  static F load_f(const float* p) { return _mm512_loadu_ps(p); }
  static I dot(I acc, I w, int32_t x4) { return _mm512_dpbusd_epi32(acc, w, _mm512_set1_epi32(x4)); }
  static F to_float(I v) { return _mm512_cvtepi32_ps(v); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F fmadd(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F set1(float v) { return _mm512_set1_ps(v); }
  static void store_first(float* y, F v, int n) { _mm512_mask_storeu_ps(y, static_cast<__mmask16>((1u << n) - 1), v); }
};

}  // namespace

bool batch_matmul(ThreadPool& pool, const Tensor& w, const void* x, size_t x_stride, float* y, int64_t n) {
  return panel_impl::batch_matmul<V>(pool, w, x, x_stride, y, n);
}

}  // namespace orchard::cpu::avx512_panel
