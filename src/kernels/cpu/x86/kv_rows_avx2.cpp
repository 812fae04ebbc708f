// AVX2 KV row kernels for attention (see kv_rows.h): 8 f32 lanes, F16C conversions, and the
// q8_0 byte dot through maddubs with the sign trick (|k| unsigned times q with k's sign, pair
// sums at most 2 * 128 * 127 < 32768, so no saturation).
#include <immintrin.h>

#include "kernels/cpu/x86/kv_rows.h"
#include "kernels/cpu/x86/tile_sets.h"

namespace orchard::cpu::avx2_kv {
namespace {

struct Vec {
  using Reg = __m256;
  static constexpr int kLanes = 8;
  static constexpr int kAccumulators = 8;
  static Reg zero() { return _mm256_setzero_ps(); }
  static Reg set1(float x) { return _mm256_set1_ps(x); }
  static Reg load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, Reg v) { _mm256_storeu_ps(p, v); }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
  static Reg mul(Reg a, Reg b) { return _mm256_mul_ps(a, b); }
  static float reduce(Reg v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
  }
  static Reg load_f16(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static Reg load_i8(const int8_t* p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
  }
  static __m256i byte_dot(__m256i k, __m256i q) {
    const __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(k, k), _mm256_sign_epi8(q, k));
    return _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
  }
};

}  // namespace
}  // namespace orchard::cpu::avx2_kv

namespace orchard::cpu {

void add_kv_kernels_avx2(IsaKernels& k) { KvRows<avx2_kv::Vec>::add_to(k); }

}  // namespace orchard::cpu
