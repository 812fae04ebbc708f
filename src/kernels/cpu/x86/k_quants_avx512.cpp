// AVX-512 VNNI tiles for the k-quants (the kernel is k_quant_tile.h) and the q8_K activation
// quantizer (q8_k_activations.h). vpdpwssd multiplies vpmaddubsw's int16 pair sums by the group
// scales and accumulates into int32 in one instruction; the 32 registers hold a 4 x 4 tile.
#include <immintrin.h>

// GCC 12's AVX-512 intrinsics start from an undefined vector and warn about it wherever they
// are inlined: a false positive.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/cpu/x86/k_quant_tile.h"
#include "kernels/cpu/x86/q8_k_activations.h"
#include "kernels/cpu/x86/tile_dispatch.h"
#include "kernels/cpu/x86/tile_sets.h"

// Own namespace: see tile_dispatch.h on why ISA files must not share symbol names.
namespace orchard::cpu::kquant_avx512 {
namespace {

struct IntDot {
  static __m256i dot(__m256i acc, __m256i u, __m256i x, __m256i s) {
    return _mm256_dpwssd_epi32(acc, _mm256_maddubs_epi16(u, x), s);
  }
  // vpermw picks any int16 lanes of the scales directly.
  using ScaleTable = __m256i;
  static ScaleTable scale_table(__m256i s) { return s; }
  static __m256i pair_scales(ScaleTable t, int k) {
    const short a = static_cast<short>(2 * k), b = static_cast<short>(2 * k + 1);
    return _mm256_permutexvar_epi16(_mm256_setr_epi16(a, a, a, a, a, a, a, a, b, b, b, b, b, b, b, b), t);
  }
};

struct V {
  using F = __m512;
  using I = __m512i;
  static constexpr int kFloats = 16;
  static F load(const float* p) { return _mm512_loadu_ps(p); }
  static F abs(F v) { return _mm512_abs_ps(v); }
  static F max(F a, F b) { return _mm512_max_ps(a, b); }
  static float max_lanes(F v) { return _mm512_reduce_max_ps(v); }
  static F mul(F v, float s) { return _mm512_mul_ps(v, _mm512_set1_ps(s)); }
  static int first_equal(F v, float a) {
    const unsigned mask = _mm512_cmp_ps_mask(v, _mm512_set1_ps(a), _CMP_EQ_OQ);
    return mask ? __builtin_ctz(mask) : -1;
  }
  static I round(F v) { return _mm512_min_epi32(_mm512_cvtps_epi32(v), _mm512_set1_epi32(127)); }  // MXCSR: to even
  static int store16(const I (&q)[1], int8_t* qs) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(qs), _mm512_cvtsepi32_epi8(q[0]));
    return _mm512_reduce_add_epi32(q[0]);
  }
};

}  // namespace
}  // namespace orchard::cpu::kquant_avx512

namespace orchard::cpu {

void add_k_quant_tiles_avx512(IsaKernels& k) {
  using kquant_avx512::IntDot;
  k.set_tile(DType::Q2_K, dispatch_tile<kquant::KQuantTile<IntDot, kquant::Q2K>::Of>);
  k.set_tile(DType::Q3_K, dispatch_tile<kquant::KQuantTile<IntDot, kquant::Q3K>::Of>);
  k.set_tile(DType::Q4_K, dispatch_tile<kquant::KQuantTile<IntDot, kquant::Q4K>::Of>);
  k.set_tile(DType::Q5_K, dispatch_tile<kquant::KQuantTile<IntDot, kquant::Q5K>::Of>);
  k.set_tile(DType::Q6_K, dispatch_tile<kquant::KQuantTile<IntDot, kquant::Q6K>::Of>);
  k.quantize_activations[dtype_index(DType::Q8_K)] = kquant::Q8KActivations<kquant_avx512::V>::quantize;
}

}  // namespace orchard::cpu
