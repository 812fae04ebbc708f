// AVX2 tiles for the k-quants (the kernel is k_quant_tile.h) and the q8_K activation quantizer
// (q8_k_activations.h). vpmaddubsw's int16 pair sums go through vpmaddwd with the group scales
// into int32, then a vpaddd into the accumulator.
#include <immintrin.h>

#include "kernels/cpu/x86/k_quant_tile.h"
#include "kernels/cpu/x86/q8_k_activations.h"
#include "kernels/cpu/x86/tile_dispatch.h"
#include "kernels/cpu/x86/tile_sets.h"

// Own namespace: see tile_dispatch.h on why ISA files must not share symbol names.
namespace orchard::cpu::kquant_avx2 {
namespace {

struct IntDot {
  static __m256i dot(__m256i acc, __m256i u, __m256i x, __m256i s) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, x), s));
  }
  // Each group's int16 doubled into an int32, so one vpermd picks two groups.
  struct ScaleTable {
    __m256i half[2];  // groups 0-7, 8-15
  };
  static ScaleTable scale_table(__m256i s) {
    ScaleTable t;
    for (int h = 0; h < 2; ++h) {
      const __m256i v = _mm256_cvtepu16_epi32(h ? _mm256_extracti128_si256(s, 1) : _mm256_castsi256_si128(s));
      t.half[h] = _mm256_or_si256(v, _mm256_slli_epi32(v, 16));
    }
    return t;
  }
  static __m256i pair_scales(const ScaleTable& t, int k) {
    const int a = (2 * k) % 8;
    return _mm256_permutevar8x32_epi32(t.half[k / 4], _mm256_setr_epi32(a, a, a, a, a + 1, a + 1, a + 1, a + 1));
  }
};

struct V {
  using F = __m256;
  using I = __m256i;
  static constexpr int kFloats = 8;
  static F load(const float* p) { return _mm256_loadu_ps(p); }
  static F abs(F v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }
  static F max(F a, F b) { return _mm256_max_ps(a, b); }
  static float max_lanes(F v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
  }
  static F mul(F v, float s) { return _mm256_mul_ps(v, _mm256_set1_ps(s)); }
  static int first_equal(F v, float a) {
    const int mask = _mm256_movemask_ps(_mm256_cmp_ps(v, _mm256_set1_ps(a), _CMP_EQ_OQ));
    return mask ? __builtin_ctz(static_cast<unsigned>(mask)) : -1;
  }
  static I round(F v) { return _mm256_min_epi32(_mm256_cvtps_epi32(v), _mm256_set1_epi32(127)); }  // MXCSR: to even
  static int store16(const I (&q)[2], int8_t* qs) {
    // packs interleaves 128-bit lanes: put q[0]'s two halves side by side before narrowing.
    const __m256i w = _mm256_permute4x64_epi64(_mm256_packs_epi32(q[0], q[1]), 0xd8);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(qs),
                     _mm_packs_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1)));
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(q[0]), _mm256_extracti128_si256(q[0], 1));
    s = _mm_add_epi32(s, _mm_add_epi32(_mm256_castsi256_si128(q[1]), _mm256_extracti128_si256(q[1], 1)));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    return _mm_cvtsi128_si32(_mm_add_epi32(s, _mm_shuffle_epi32(s, 1)));
  }
};

}  // namespace
}  // namespace orchard::cpu::kquant_avx2

namespace orchard::cpu {

void add_k_quant_tiles_avx2(IsaKernels& k) {
  using kquant_avx2::IntDot;
  k.set_tile(DType::Q2_K, dispatch_tile<kquant::KQuantTile<IntDot, kquant::Q2K>::Of>);
  k.set_tile(DType::Q3_K, dispatch_tile<kquant::KQuantTile<IntDot, kquant::Q3K>::Of>);
  k.set_tile(DType::Q4_K, dispatch_tile<kquant::KQuantTile<IntDot, kquant::Q4K>::Of>);
  k.set_tile(DType::Q5_K, dispatch_tile<kquant::KQuantTile<IntDot, kquant::Q5K>::Of>);
  k.set_tile(DType::Q6_K, dispatch_tile<kquant::KQuantTile<IntDot, kquant::Q6K>::Of>);
  k.quantize_activations[dtype_index(DType::Q8_K)] = kquant::Q8KActivations<kquant_avx2::V>::quantize;
}

}  // namespace orchard::cpu
