// AVX2 tiles for MLX affine weights: per 32-element q8_0 block of the activations,
// d_x * (scale * sum q_w q_x + bias * sum q_x), as the reference dot (quant/mlx_affine.cpp).
// vpmaddubsw (unsigned x signed bytes, pairs summed into saturating int16) takes 4-bit quants
// as they are; 8-bit quants (0..255) would saturate, so they are offset to q - 128 and
// multiplied by sign trick (|q'| times x with q's sign), the offset returning as 128 * scale in
// the bias term. sum q_x is shared by every weight row of the tile.
#include <immintrin.h>

#include <cstring>

#include "kernels/cpu/x86/mlx_affine.h"
#include "kernels/cpu/x86/tile_dispatch.h"
#include "quant/blocks.h"

// Own namespace: see tile_dispatch.h on why ISA files must not share symbol names.
namespace orchard::cpu::mlx_avx2 {
namespace {

inline float load_f32(const uint8_t* p) {
  float f;
  std::memcpy(&f, p, sizeof f);
  return f;
}

// 32 quants of one group starting at element `first`, one byte each in element order.
// int32 lanes of sum q x over the block: quants `w` (unsigned, 4-bit) by activations `x`.
inline __m256i dot_u8_s8(__m256i w, __m256i x) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(w, x), _mm256_set1_epi16(1));
}

template <int Bits>
inline __m256i quants32(const uint8_t* qs, int first) {
  if constexpr (Bits == 8) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + first));
  } else {
    // Byte i holds element 2i (low nibble) and 2i+1 (high): interleave them back into order.
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs + first / 2));
    const __m128i mask = _mm_set1_epi8(0x0f);
    const __m128i lo = _mm_and_si128(packed, mask);
    const __m128i hi = _mm_and_si128(_mm_srli_epi16(packed, 4), mask);
    return _mm256_set_m128i(_mm_unpackhi_epi8(lo, hi), _mm_unpacklo_epi8(lo, hi));
  }
}

template <int Bits, int Group>
struct MlxTile {
  static constexpr size_t kBlockBytes = 8 + Group * Bits / 8;
  static constexpr int kBlocksPerGroup = Group / kQK;

  template <int R, int T>
  struct Of {
    static void run(const MatmulTile& t) {
      __m256 acc[R][T];
      for (auto& row : acc)
        for (auto& a : row) a = _mm256_setzero_ps();
      const BlockQ8_0* x[T];
      for (int j = 0; j < T; ++j)
        x[j] = reinterpret_cast<const BlockQ8_0*>(static_cast<const uint8_t*>(t.x) + j * t.x_stride);
      const __m256i ones = _mm256_set1_epi8(1);
      const int64_t blocks = t.k / kQK;
      for (int64_t b = 0; b < blocks; ++b) {
        const int64_t group = b / kBlocksPerGroup;
        const int first = static_cast<int>(b % kBlocksPerGroup) * kQK;
        __m256i xv[T];
        __m256 dx[T], xsum[T];
        for (int j = 0; j < T; ++j) {
          xv[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[j][b].qs));
          dx[j] = _mm256_set1_ps(_cvtsh_ss(x[j][b].d));
          xsum[j] = _mm256_mul_ps(_mm256_cvtepi32_ps(dot_u8_s8(ones, xv[j])), dx[j]);
        }
        for (int r = 0; r < R; ++r) {
          const uint8_t* block = t.w + r * t.w_stride + group * kBlockBytes;
          _mm_prefetch(reinterpret_cast<const char*>(block) + 1024, _MM_HINT_T0);
          const float s = load_f32(block);
          const __m256 scale = _mm256_set1_ps(s);
          const __m256 bias = _mm256_set1_ps(load_f32(block + 4) + (Bits == 8 ? 128.0f * s : 0.0f));
          __m256i wv = quants32<Bits>(block + 8, first);
          if constexpr (Bits == 8) wv = _mm256_xor_si256(wv, _mm256_set1_epi8(static_cast<char>(0x80)));  // q - 128
          for (int j = 0; j < T; ++j) {
            const __m256i isum = Bits == 8 ? dot_u8_s8(_mm256_abs_epi8(wv), _mm256_sign_epi8(xv[j], wv)) : dot_u8_s8(wv, xv[j]);
            const __m256 q = _mm256_cvtepi32_ps(isum);
            acc[r][j] = _mm256_fmadd_ps(_mm256_mul_ps(q, dx[j]), scale, acc[r][j]);
            acc[r][j] = _mm256_fmadd_ps(xsum[j], bias, acc[r][j]);
          }
        }
      }
      for (int r = 0; r < R; ++r)
        for (int j = 0; j < T; ++j) {
          const __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc[r][j]), _mm256_extractf128_ps(acc[r][j], 1));
          const __m128 s2 = _mm_add_ps(s, _mm_movehl_ps(s, s));
          t.y[j * t.y_stride + r] = _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
        }
    }
  };
};

}  // namespace
}  // namespace orchard::cpu::mlx_avx2

namespace orchard::cpu {

void add_mlx_affine_tiles_avx2(IsaKernels& k) {
  using namespace mlx_avx2;
  k.set_tile(DType::MLX_Q4_G32, dispatch_tile<MlxTile<4, 32>::Of>);
  k.set_tile(DType::MLX_Q4_G64, dispatch_tile<MlxTile<4, 64>::Of>);
  k.set_tile(DType::MLX_Q4_G128, dispatch_tile<MlxTile<4, 128>::Of>);
  k.set_tile(DType::MLX_Q8_G32, dispatch_tile<MlxTile<8, 32>::Of>);
  k.set_tile(DType::MLX_Q8_G64, dispatch_tile<MlxTile<8, 64>::Of>);
  k.set_tile(DType::MLX_Q8_G128, dispatch_tile<MlxTile<8, 128>::Of>);
}

}  // namespace orchard::cpu
