// AVX2 tiles for q4_0 / q4_1 / q5_0 / q5_1 / q8_0 / iq4_nl weights (the kernel is
// legacy_quant_tile.h) and the q8_0 / q8_1 activation quantizers (q8_activations.h).
// vpmaddubsw (unsigned x signed bytes, pairs summed into saturating int16) takes 4- and 5-bit
// quants as they are; q8_0's and iq4_nl's signed values use the sign trick. 16 registers:
// tiles go two tokens at a time.
#include "kernels/cpu/x86/legacy_quant_tile.h"
#include "kernels/cpu/x86/q8_activations.h"
#include "kernels/cpu/x86/tile_dispatch.h"
#include "kernels/cpu/x86/tile_sets.h"

// Own namespace: see tile_dispatch.h on why ISA files must not share symbol names.
namespace orchard::cpu::legacy_avx2 {
namespace {

struct Simd {
  using VI = __m256i;
  using VF = __m256;
  static constexpr int kBlocks = 1, kLanesPerBlock = 8, kTokensPerPass = 2;
  static constexpr bool kBiasSigned = false;

  static VI join(const __m256i (&q)[1]) { return q[0]; }
  static VF scales(const uint16_t (&h)[1]) { return _mm256_set1_ps(_cvtsh_ss(h[0])); }
  static VI dot(VI acc, VI u, VI x) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, x), _mm256_set1_epi16(1)));
  }
  static __m256i high_bits(uint32_t bits) {
    // Byte i gets byte i / 8 of the word, then keeps its own bit i % 8.
    const __m256i spread = _mm256_shuffle_epi8(
        _mm256_set1_epi32(static_cast<int>(bits)),
        _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0));
    const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201));
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit), _mm256_set1_epi8(0x10));
  }
  static VI abs_i8(VI v) { return _mm256_sign_epi8(v, v); }
  static VI sign_i8(VI x, VI s) { return _mm256_sign_epi8(x, s); }
  static VI zero_i() { return _mm256_setzero_si256(); }
  static VF zero_f() { return _mm256_setzero_ps(); }
  static VI set1_i8(int v) { return _mm256_set1_epi8(static_cast<char>(v)); }
  static VF set1_f(float v) { return _mm256_set1_ps(v); }
  static VI sub(VI a, VI b) { return _mm256_sub_epi32(a, b); }
  static VF cvt(VI v) { return _mm256_cvtepi32_ps(v); }
  static VF mul(VF a, VF b) { return _mm256_mul_ps(a, b); }
  static VF fmadd(VF a, VF b, VF c) { return _mm256_fmadd_ps(a, b, c); }
  static float sum(VF v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
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
  static I round(F v) {
    const F t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const F half_or_more = _mm256_cmp_ps(abs(_mm256_sub_ps(v, t)), _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    const F away = _mm256_or_ps(_mm256_and_ps(v, _mm256_set1_ps(-0.0f)), _mm256_set1_ps(1.0f));  // +-1
    return _mm256_cvtps_epi32(_mm256_add_ps(t, _mm256_and_ps(half_or_more, away)));
  }
  static void store(const I (&q)[4], int8_t* qs) {
    // packs work within 128-bit lanes: the bytes come out as dwords 0 4 1 5 2 6 3 7.
    const __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs),
                        _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
  }
  static int sum(const I (&q)[4]) {
    const __m256i s = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
    __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    h = _mm_add_epi32(h, _mm_unpackhi_epi64(h, h));
    return _mm_cvtsi128_si32(_mm_add_epi32(h, _mm_shuffle_epi32(h, 1)));
  }
};

}  // namespace
}  // namespace orchard::cpu::legacy_avx2

namespace orchard::cpu {

void add_legacy_quant_tiles_avx2(IsaKernels& k) {
  using legacy_avx2::Simd;
  k.set_tile(DType::Q4_0, dispatch_tile<legacy::LegacyQuantTile<Simd, legacy::Q4_0>::Of>);
  k.set_tile(DType::Q4_1, dispatch_tile<legacy::LegacyQuantTile<Simd, legacy::Q4_1>::Of>);
  k.set_tile(DType::Q5_0, dispatch_tile<legacy::LegacyQuantTile<Simd, legacy::Q5_0>::Of>);
  k.set_tile(DType::Q5_1, dispatch_tile<legacy::LegacyQuantTile<Simd, legacy::Q5_1>::Of>);
  k.set_tile(DType::IQ4_NL, dispatch_tile<legacy::LegacyQuantTile<Simd, legacy::IQ4_NL>::Of>);
  k.set_tile(DType::Q8_0, dispatch_tile<legacy::LegacyQuantTile<Simd, legacy::Q8_0>::Of>);
  using Quantize = legacy::Q8Activations<legacy_avx2::V>;
  k.quantize_activations[dtype_index(DType::Q8_0)] = Quantize::q8_0;
  k.quantize_activations[dtype_index(DType::Q8_1)] = Quantize::q8_1;
}

}  // namespace orchard::cpu
