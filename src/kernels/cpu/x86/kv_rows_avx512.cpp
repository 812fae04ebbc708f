// AVX-512 KV row kernels for attention (see kv_rows.h): 16 f32 lanes, vcvtph2ps on 16 halves,
// and the q8_0 byte dot as one VNNI dpbusd (|k| unsigned times q with k's sign) on 256 bits.
#include <immintrin.h>

#include "kernels/cpu/x86/kv_rows.h"
#include "kernels/cpu/x86/tile_sets.h"

namespace orchard::cpu::avx512_kv {
namespace {

struct Vec {
  using Reg = __m512;
  static constexpr int kLanes = 16;
  static constexpr int kAccumulators = 16;
  static Reg zero() { return _mm512_setzero_ps(); }
  static Reg set1(float x) { return _mm512_set1_ps(x); }
  static Reg load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, Reg v) { _mm512_storeu_ps(p, v); }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
  static Reg mul(Reg a, Reg b) { return _mm512_mul_ps(a, b); }
  static float reduce(Reg v) { return _mm512_reduce_add_ps(v); }
  static Reg load_f16(const uint16_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
  static Reg load_i8(const int8_t* p) {
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
  }
  static __m256i byte_dot(__m256i k, __m256i q) {
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(k, k), _mm256_sign_epi8(q, k));
  }
};

}  // namespace
}  // namespace orchard::cpu::avx512_kv

namespace orchard::cpu {

void add_kv_kernels_avx512(IsaKernels& k) { KvRows<avx512_kv::Vec>::add_to(k); }

}  // namespace orchard::cpu
