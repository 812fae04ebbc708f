// AVX-512 kernels: 32 vector registers hold a whole 4 x 4 tile of accumulators. Float weights
// use 16-wide FMA; q8_0 / q4_0 use VNNI (vpdpbusd: unsigned bytes times signed bytes, summed
// in groups of four into int32), one 32-element block per 256-bit vector.
#include <immintrin.h>

#include "kernels/cpu/kernels.h"
#include "kernels/cpu/x86/tile_dispatch.h"
#include "quant/blocks.h"

namespace orchard::cpu {
namespace {

inline float half(uint16_t h) { return _cvtsh_ss(h); }

const float* act_row(const MatmulTile& t, int j) {
  return reinterpret_cast<const float*>(static_cast<const uint8_t*>(t.x) + j * t.x_stride);
}
const BlockQ8_0* q8_row(const MatmulTile& t, int j) {
  return reinterpret_cast<const BlockQ8_0*>(static_cast<const uint8_t*>(t.x) + j * t.x_stride);
}

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// ---- f32 / f16 / bf16 weights, f32 activations ----

struct LoadF32 {
  static __m512 load(const uint8_t* row, int64_t i) { return _mm512_loadu_ps(reinterpret_cast<const float*>(row) + i); }
};
struct LoadF16 {
  static __m512 load(const uint8_t* row, int64_t i) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 2 * i)));
  }
};
struct LoadBF16 {  // bf16 is the top half of an f32
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
          const __m512 w = Load::load(t.w + r * t.w_stride, i);
          for (int j = 0; j < T; ++j) acc[r][j] = _mm512_fmadd_ps(w, x[j], acc[r][j]);
        }
      }
      for (int r = 0; r < R; ++r)
        for (int j = 0; j < T; ++j) t.y[j * t.y_stride + r] = _mm512_reduce_add_ps(acc[r][j]);
    }
  };
};

// ---- q8_0 / q4_0 weights, q8_0 activations ----
// vpdpbusd needs one unsigned operand. q8_0 x q8_0: feed x + 128 (flip the sign bit) as the
// unsigned side, and start each sum at -128 * sum(w), computed once per weight block:
// (x + 128).w - 128 * sum(w) = x.w. q4_0 stores q + 8 in 0..15, already unsigned: start at
// -8 * sum(x), computed once per activation block.

inline __m256i load32(const int8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

inline __m256i unpack_nibbles(const uint8_t* qs) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);  // low nibbles then high
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
}

// -factor * (sum of each group of four signed bytes), as the starting value of a dot product.
inline __m256i negated_scaled_sums(uint8_t factor, __m256i signed_bytes) {
  const __m256i f = _mm256_set1_epi8(static_cast<char>(factor));
  const __m256i sums = _mm256_dpbusd_epi32(_mm256_setzero_si256(), f, signed_bytes);
  return _mm256_sub_epi32(_mm256_setzero_si256(), sums);
}

template <class Block, bool kQ4>
struct QuantTile {
  template <int R, int T>
  struct Of {
    static void run(const MatmulTile& t) {
      __m256 acc[R][T];
      for (auto& row : acc)
        for (auto& a : row) a = _mm256_setzero_ps();
      const Block* w[R];
      const BlockQ8_0* x[T];
      for (int r = 0; r < R; ++r) w[r] = reinterpret_cast<const Block*>(t.w + r * t.w_stride);
      for (int j = 0; j < T; ++j) x[j] = q8_row(t, j);
      const __m256i sign_bit = _mm256_set1_epi8(static_cast<char>(0x80));
      for (int64_t b = 0; b < t.k / kQK; ++b) {
        __m256i xv[T], x_start[T];
        float dx[T];
        for (int j = 0; j < T; ++j) {
          const __m256i xq = load32(x[j][b].qs);
          if constexpr (kQ4) {
            xv[j] = xq;
            x_start[j] = negated_scaled_sums(8, xq);
          } else {
            xv[j] = _mm256_xor_si256(xq, sign_bit);  // x + 128 as unsigned
          }
          dx[j] = half(x[j][b].d);
        }
        for (int r = 0; r < R; ++r) {
          const float dw = half(w[r][b].d);
          __m256i wv, w_start{};
          if constexpr (kQ4) {
            wv = unpack_nibbles(w[r][b].qs);
          } else {
            wv = load32(w[r][b].qs);
            w_start = negated_scaled_sums(128, wv);
          }
          for (int j = 0; j < T; ++j) {
            const __m256i dot = kQ4 ? _mm256_dpbusd_epi32(x_start[j], wv, xv[j])
                                    : _mm256_dpbusd_epi32(w_start, xv[j], wv);
            acc[r][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(dw * dx[j]), acc[r][j]);
          }
        }
      }
      for (int r = 0; r < R; ++r)
        for (int j = 0; j < T; ++j) t.y[j * t.y_stride + r] = hsum(acc[r][j]);
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

const IsaKernels& avx512_kernels() {
  static const IsaKernels table{Isa::Avx512,
                                dispatch_tile<FloatTile<LoadF32>::Of>,
                                dispatch_tile<FloatTile<LoadF16>::Of>,
                                dispatch_tile<FloatTile<LoadBF16>::Of>,
                                dispatch_tile<QuantTile<BlockQ8_0, false>::Of>,
                                dispatch_tile<QuantTile<BlockQ4_0, true>::Of>,
                                dot,
                                axpy};
  return table;
}

}  // namespace orchard::cpu
