#pragma once
// The MLX affine tile kernel shared by the AVX2 and AVX-512 files: per 32-element q8_0 block
// of the activations, d_x * (scale * sum q_w q_x + bias * sum q_x), as the reference dot
// (quant/mlx_affine.cpp); sum q_x is shared by every weight row of the tile. Only the
// unsigned-by-signed byte dot product differs between ISAs, so it comes from `IntDot`:
//   IntDot::block_sum(x)              int32 lanes summing to sum of the signed bytes x
//   IntDot::prepare<Bits>(w)          weight quants as the ISA's dot wants them
//   IntDot::dot<Bits>(w, x)           int32 lanes summing to sum w x for prepared w
//   IntDot::bias_offset<Bits>(scale)  added to the bias for what prepare took off the quants
// Everything here is a member of a template on IntDot, and each ISA file defines its IntDot in
// its own namespace, so no symbol compiled with one ISA's flags is shared with another's (see
// tile_dispatch.h).
#include <immintrin.h>

#include <cstring>

#include "kernels/cpu/kernels.h"
#include "quant/blocks.h"

namespace orchard::cpu {

template <class IntDot, int Bits, int Group>
struct MlxAffineTile {
  static constexpr size_t kBlockBytes = 8 + Group * Bits / 8;
  static constexpr int kBlocksPerGroup = Group / kQK;

  static float load_f32(const uint8_t* p) {
    float f;
    std::memcpy(&f, p, sizeof f);
    return f;
  }

  // 32 quants of one group starting at element `first`, one byte each in element order.
  static __m256i quants32(const uint8_t* qs, int first) {
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

  static float hsum(__m256 v) {
    const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 s2 = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
  }

  template <int R, int T>
  struct Of {
    static void run(const MatmulTile& t) {
      __m256 acc[R][T];
      for (auto& row : acc)
        for (auto& a : row) a = _mm256_setzero_ps();
      const BlockQ8_0* x[T];
      for (int j = 0; j < T; ++j)
        x[j] = reinterpret_cast<const BlockQ8_0*>(static_cast<const uint8_t*>(t.x) + j * t.x_stride);
      const int64_t blocks = t.k / kQK;
      for (int64_t b = 0; b < blocks; ++b) {
        const int64_t group = b / kBlocksPerGroup;
        const int first = static_cast<int>(b % kBlocksPerGroup) * kQK;
        __m256i xv[T];
        __m256 dx[T], xsum[T];
        for (int j = 0; j < T; ++j) {
          xv[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[j][b].qs));
          dx[j] = _mm256_set1_ps(_cvtsh_ss(x[j][b].d));
          xsum[j] = _mm256_mul_ps(_mm256_cvtepi32_ps(IntDot::block_sum(xv[j])), dx[j]);
        }
        for (int r = 0; r < R; ++r) {
          const uint8_t* block = t.w + r * t.w_stride + group * kBlockBytes;
          _mm_prefetch(reinterpret_cast<const char*>(block) + 1024, _MM_HINT_T0);
          const float s = load_f32(block);
          const __m256 scale = _mm256_set1_ps(s);
          const __m256 bias = _mm256_set1_ps(load_f32(block + 4) + IntDot::template bias_offset<Bits>(s));
          const __m256i wv = IntDot::template prepare<Bits>(quants32(block + 8, first));
          for (int j = 0; j < T; ++j) {
            const __m256 q = _mm256_cvtepi32_ps(IntDot::template dot<Bits>(wv, xv[j]));
            acc[r][j] = _mm256_fmadd_ps(_mm256_mul_ps(q, dx[j]), scale, acc[r][j]);
            acc[r][j] = _mm256_fmadd_ps(xsum[j], bias, acc[r][j]);
          }
        }
      }
      for (int r = 0; r < R; ++r)
        for (int j = 0; j < T; ++j) t.y[j * t.y_stride + r] = hsum(acc[r][j]);
    }
  };
};

}  // namespace orchard::cpu
