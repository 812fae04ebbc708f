// AVX-512 VNNI tiles for q4_0 / q4_1 / q5_0 / q5_1 / q8_0 / iq4_nl weights (the kernel is
// legacy_quant_tile.h) and the q8_0 / q8_1 activation quantizers (q8_activations.h). Two
// consecutive blocks share one 512-bit register; vpdpbusd (unsigned x signed bytes, groups of
// four summed into int32, no saturation) takes q8_0's and iq4_nl's signed values biased by +128. 32 registers
// hold a whole 4 x 4 tile of accumulators.
#include <immintrin.h>

// GCC 12's AVX-512 intrinsics start from an undefined vector and warn about it wherever they
// are inlined: a false positive.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/cpu/x86/legacy_quant_tile.h"
#include "kernels/cpu/x86/q8_activations.h"
#include "kernels/cpu/x86/tile_dispatch.h"
#include "kernels/cpu/x86/tile_sets.h"

// Own namespace: see tile_dispatch.h on why ISA files must not share symbol names.
namespace orchard::cpu::legacy_avx512 {
namespace {

struct Simd {
  using VI = __m512i;
  using VF = __m512;
  static constexpr int kBlocks = 2, kLanesPerBlock = 8, kTokensPerPass = 4;
  static constexpr bool kBiasSigned = true;

  static VI join(const __m256i (&q)[2]) { return _mm512_inserti64x4(_mm512_castsi256_si512(q[0]), q[1], 1); }
  static VF scales(const uint16_t (&h)[2]) {
    return _mm512_cvtph_ps(_mm256_set_m128i(_mm_set1_epi16(static_cast<short>(h[1])), _mm_set1_epi16(static_cast<short>(h[0]))));
  }
  static VI dot(VI acc, VI u, VI x) { return _mm512_dpbusd_epi32(acc, u, x); }
  static __m256i high_bits(uint32_t bits) { return _mm256_maskz_mov_epi8(bits, _mm256_set1_epi8(0x10)); }
  static VI zero_i() { return _mm512_setzero_si512(); }
  static VF zero_f() { return _mm512_setzero_ps(); }
  static VI set1_i8(int v) { return _mm512_set1_epi8(static_cast<char>(v)); }
  static VF set1_f(float v) { return _mm512_set1_ps(v); }
  static VI sub(VI a, VI b) { return _mm512_sub_epi32(a, b); }
  static VF cvt(VI v) { return _mm512_cvtepi32_ps(v); }
  static VF mul(VF a, VF b) { return _mm512_mul_ps(a, b); }
  static VF fmadd(VF a, VF b, VF c) { return _mm512_fmadd_ps(a, b, c); }
  static float sum(VF v) { return _mm512_reduce_add_ps(v); }
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
  static I round(F v) {
    const F t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __mmask16 half_or_more = _mm512_cmp_ps_mask(abs(_mm512_sub_ps(v, t)), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
    const F away = _mm512_or_ps(_mm512_and_ps(v, _mm512_set1_ps(-0.0f)), _mm512_set1_ps(1.0f));  // +-1
    return _mm512_cvtps_epi32(_mm512_mask_add_ps(t, half_or_more, t, away));
  }
  static void store(const I (&q)[2], int8_t* qs) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(qs), _mm512_cvtsepi32_epi8(q[0]));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(qs + 16), _mm512_cvtsepi32_epi8(q[1]));
  }
  static int sum(const I (&q)[2]) { return _mm512_reduce_add_epi32(_mm512_add_epi32(q[0], q[1])); }
};

}  // namespace
}  // namespace orchard::cpu::legacy_avx512

#include "kernels/cpu/x86/legacy_gemv_avx512.h"

namespace orchard::cpu {

void add_legacy_quant_tiles_avx512(IsaKernels& k) {
  using legacy_avx512::Simd;
  k.set_tile(DType::Q4_0, dispatch_tile<legacy::LegacyQuantTile<Simd, legacy::Q4_0>::Of>);
  k.set_tile(DType::Q4_1, dispatch_tile<legacy::LegacyQuantTile<Simd, legacy::Q4_1>::Of>);
  k.set_tile(DType::Q5_0, dispatch_tile<legacy::LegacyQuantTile<Simd, legacy::Q5_0>::Of>);
  k.set_tile(DType::Q5_1, dispatch_tile<legacy::LegacyQuantTile<Simd, legacy::Q5_1>::Of>);
  k.set_tile(DType::IQ4_NL, dispatch_tile<legacy::LegacyQuantTile<Simd, legacy::IQ4_NL>::Of>);
  k.set_tile(DType::Q8_0, dispatch_tile<legacy::LegacyQuantTile<Simd, legacy::Q8_0>::Of>);
  k.gemv[dtype_index(DType::Q4_0)] = legacy_avx512::LegacyGemv<legacy_avx512::V, legacy_avx512::GemvQ4_0>::kernel();
  k.gemv[dtype_index(DType::Q8_0)] = legacy_avx512::LegacyGemv<legacy_avx512::V, legacy_avx512::GemvQ8_0>::kernel();
  using Quantize = legacy::Q8Activations<legacy_avx512::V>;
  k.quantize_activations[dtype_index(DType::Q8_0)] = Quantize::q8_0;
  k.quantize_activations[dtype_index(DType::Q8_1)] = Quantize::q8_1;
}

}  // namespace orchard::cpu
