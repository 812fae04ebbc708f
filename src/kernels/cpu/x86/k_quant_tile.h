#pragma once
// The register-tile kernel for the k-quants (q2_K .. q6_K) against q8_K activations, shared by
// the AVX2 and AVX-512 files. Per 256-element super-block and (row, token), as the reference
// dot (quant/dot_reference.cpp):
//   d_x * (d * sum_g scale_g sum_{i in g} u_i x_i  -  e * sum_g c_g bsum_g)
// over the 16 groups of 16 elements, where u are the quants made unsigned (for the byte dot)
// and bsum_g = sum_{i in g} x_i comes with the q8_K block. The correction c_g is the group's
// min with e = dmin (q2_K, q4_K, q5_K) or, for signed formats stored as u = q + offset
// (q3_K: 4, q6_K: 32), offset * scale_g with e = d, which is subtracted in the integers.
// Each row's scales are unpacked once per super-block and used for every token of the tile.
//
// The byte dot: u (0..63) times x (-127..127) in adjacent pairs cannot saturate int16, so
// pairs come from vpmaddubsw and are multiplied by the group's int16 scale while being summed
// into int32 lanes. Only that step and the spreading of the scales differ between ISAs
// (`IntDot`, defined in each ISA file's own namespace so no symbol built with one ISA's flags
// is shared, see tile_dispatch.h):
//   IntDot::dot(acc, u, x, s)          acc + int32 lanes summing to sum_i u_i x_i s_(i/2) (s int16)
//   IntDot::ScaleTable, scale_table(s) a row's 16 int16 group scales, ready for
//   IntDot::pair_scales(table, k)      groups 2k and 2k + 1 over int16 lanes 0-7 and 8-15
// AVX-512 has 32 vector registers and VNNI's vpdpwssd (multiply and accumulate in one); both
// work on 256-bit vectors, where Intel's integer multipliers have the throughput of 512-bit
// ones (two ports instead of one).
#include <immintrin.h>

#include <cstring>

#include "kernels/cpu/kernels.h"
#include "quant/blocks.h"
#include "quant/k_scales.h"

namespace orchard::cpu::kquant {

// What a format's prepare() gives per row and super-block.
struct Scales {
  __m256i scale;  // 16 int16: the scale of each group of 16 elements
  __m256i corr;   // 16 int16: c_g (see above)
  float d, e;
};

// Helpers and formats are templates on IntDot like everything here (see above).
template <class IntDot>
struct Bits {
  static __m256i load(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static __m256i mask(int v) { return _mm256_set1_epi8(static_cast<char>(v)); }
  // Bits [shift, shift + width) of every byte, in the low bits of each byte.
  static __m256i field(__m256i v, int shift, int width) {
    return _mm256_and_si256(_mm256_srli_epi16(v, shift), mask((1 << width) - 1));
  }
  // 16 bytes to 16 int16, zero- or sign-extended.
  static __m256i u16(__m128i v) { return _mm256_cvtepu8_epi16(v); }
  static __m256i s16(__m128i v) { return _mm256_cvtepi8_epi16(v); }
  // q4_K / q5_K: the 8 scales and 8 mins of 32 elements, each repeated for both of its groups.
  // unpack_k4_scales (quant/k_scales.h) on the three 32-bit words, in one vector: 16 bytes
  // from the scales on (the last four are quants, unused).
  template <class Block>
  static void k4_scales(const Block& b, Scales& s) {
    const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales));
    const __m128i w2 = _mm_shuffle_epi32(q, 0xaa);
    const __m128i nibbles = _mm_and_si128(_mm_srlv_epi32(w2, _mm_setr_epi32(0, 4, 0, 0)), _mm_set1_epi8(0x0f));
    const __m128i top = _mm_and_si128(_mm_srli_epi32(q, 2), _mm_set1_epi8(0x30));  // bits 6-7 of words 0, 1 at 4-5
    const __m128i high = _mm_or_si128(nibbles, top);                              // words: scales 4-7, mins 4-7
    const __m128i low = _mm_and_si128(q, _mm_set1_epi8(0x3f));                     // words: scales 0-3, mins 0-3
    const __m128i both = _mm_unpacklo_epi32(low, high);                            // bytes: 8 scales, 8 mins
    s.scale = u16(_mm_unpacklo_epi8(both, both));
    s.corr = u16(_mm_unpackhi_epi8(both, both));
    s.d = _cvtsh_ss(b.d);
    s.e = _cvtsh_ss(b.dmin);
  }
};

// Each format: Block, kMin (c is a min, else an offset term), prepare(block, Scales&) and
// quants(block, k): the unsigned quants of elements 32k .. 32k + 31, one byte each in order.

template <class IntDot>
struct Q2K {
  using B = Bits<IntDot>;
  using Block = BlockQ2_K;
  static constexpr bool kMin = true;
  static void prepare(const Block& b, Scales& s) {
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales));
    const __m128i low4 = _mm_set1_epi8(0x0f);
    s.scale = B::u16(_mm_and_si128(packed, low4));
    s.corr = B::u16(_mm_and_si128(_mm_srli_epi16(packed, 4), low4));
    s.d = _cvtsh_ss(b.d);
    s.e = _cvtsh_ss(b.dmin);
  }
  // Element 128h + 32j + l: bits 2j of qs[32h + l].
  static __m256i quants(const Block& b, int k) { return B::field(B::load(b.qs + 32 * (k / 4)), 2 * (k % 4), 2); }
};

template <class IntDot>
struct Q3K {
  using B = Bits<IntDot>;
  using Block = BlockQ3_K;
  static constexpr bool kMin = false;
  static void prepare(const Block& b, Scales& s) {
    int8_t scales[16];
    unpack_q3_k_scales(b.scales, scales);
    s.scale = B::s16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(scales)));
    s.corr = _mm256_slli_epi16(s.scale, 2);  // offset 4
    s.d = _cvtsh_ss(b.d);
    s.e = s.d;
  }
  // q2_K's two bits plus 4 where bit k of hmask[l] is set: q + 4 in 0..7.
  static __m256i quants(const Block& b, int k) {
    const __m256i low = B::field(B::load(b.qs + 32 * (k / 4)), 2 * (k % 4), 2);
    return _mm256_or_si256(low, _mm256_slli_epi16(B::field(B::load(b.hmask), k, 1), 2));
  }
};

template <class IntDot>
struct Q4K {
  using B = Bits<IntDot>;
  using Block = BlockQ4_K;
  static constexpr bool kMin = true;
  static void prepare(const Block& b, Scales& s) { B::k4_scales(b, s); }
  // 64 elements per 32 bytes: the first 32 in the low nibbles.
  static __m256i quants(const Block& b, int k) { return B::field(B::load(b.qs + 32 * (k / 2)), 4 * (k % 2), 4); }
};

template <class IntDot>
struct Q5K {
  using B = Bits<IntDot>;
  using Block = BlockQ5_K;
  static constexpr bool kMin = true;
  static void prepare(const Block& b, Scales& s) { B::k4_scales(b, s); }
  // q4_K's nibbles plus bit k of qh[l] as the fifth bit.
  static __m256i quants(const Block& b, int k) {
    const __m256i low = B::field(B::load(b.qs + 32 * (k / 2)), 4 * (k % 2), 4);
    return _mm256_or_si256(low, _mm256_slli_epi16(B::field(B::load(b.qh), k, 1), 4));
  }
};

template <class IntDot>
struct Q6K {
  using B = Bits<IntDot>;
  using Block = BlockQ6_K;
  static constexpr bool kMin = false;
  static void prepare(const Block& b, Scales& s) {
    s.scale = B::s16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales)));
    s.corr = _mm256_slli_epi16(s.scale, 5);  // offset 32
    s.d = _cvtsh_ss(b.d);
    s.e = s.d;
  }
  // Element 128h + 32j + l: nibble j / 2 of ql[64h + 32(j % 2) + l], top two bits at bits 2j
  // of qh[32h + l]; q + 32 in 0..63.
  static __m256i quants(const Block& b, int k) {
    const int h = k / 4, j = k % 4;
    const __m256i low = B::field(B::load(b.ql + 64 * h + 32 * (j % 2)), 4 * (j / 2), 4);
    return _mm256_or_si256(low, _mm256_slli_epi16(B::field(B::load(b.qh + 32 * h), 2 * j, 2), 4));
  }
};

template <class IntDot, template <class> class Format>
struct KQuantTile {
  using F = Format<IntDot>;
  using Block = typename F::Block;

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
      const BlockQ8_K* x[T];
      for (int j = 0; j < T; ++j)
        x[j] = reinterpret_cast<const BlockQ8_K*>(static_cast<const uint8_t*>(t.x) + j * t.x_stride);
      const int64_t blocks = t.k / kQK_K;
      for (int64_t b = 0; b < blocks; ++b) {
        for (int r = 0; r < R; ++r) {
          const Block& w = reinterpret_cast<const Block*>(t.w + r * t.w_stride)[b];
          // Weight rows are streamed once per token: keep more memory requests in flight
          // than the hardware prefetcher does.
          for (size_t line = 0; line < sizeof(Block); line += 64)
            _mm_prefetch(reinterpret_cast<const char*>(&w) + 1024 + line, _MM_HINT_T0);
          Scales s;
          F::prepare(w, s);
          const typename IntDot::ScaleTable table = IntDot::scale_table(s.scale);
          __m256i isum[T];
          for (auto& v : isum) v = _mm256_setzero_si256();
#pragma GCC unroll 8
          for (int k = 0; k < 8; ++k) {
            const __m256i u = F::quants(w, k);
            const __m256i sc = IntDot::pair_scales(table, k);
            for (int j = 0; j < T; ++j)
              isum[j] = IntDot::dot(isum[j], u, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[j][b].qs + 32 * k)), sc);
          }
          for (int j = 0; j < T; ++j) {
            const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[j][b].bsums));
            const __m256i corr = _mm256_madd_epi16(s.corr, bsums);
            const float dx = x[j][b].d;
            if constexpr (F::kMin) {
              acc[r][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[j]), _mm256_set1_ps(s.d * dx), acc[r][j]);
              acc[r][j] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(corr), _mm256_set1_ps(s.e * dx), acc[r][j]);
            } else {
              const __m256i q = _mm256_sub_epi32(isum[j], corr);
              acc[r][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(q), _mm256_set1_ps(s.d * dx), acc[r][j]);
            }
          }
        }
      }
      for (int r = 0; r < R; ++r)
        for (int j = 0; j < T; ++j) t.y[j * t.y_stride + r] = hsum(acc[r][j]);
    }
  };
};

}  // namespace orchard::cpu::kquant
