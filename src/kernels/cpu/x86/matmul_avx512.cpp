// AVX-512 kernels: 32 vector registers hold a whole 4 x 4 tile of accumulators. Float weights
// use 16-wide FMA; q8_0 / q4_0 use VNNI (vpdpbusd: unsigned bytes times signed bytes, summed
// in groups of four into int32).
#include <immintrin.h>

#include "kernels/cpu/kernels.h"
#include "kernels/cpu/vector_math.h"
#include "kernels/cpu/x86/tile_dispatch.h"
#include "quant/blocks.h"

// Everything here lives in its own namespace: code built with avx512 flags must never share a
// symbol name with code built for another ISA, or the linker could merge the two.
namespace orchard::cpu::avx512 {
namespace {

inline float half(uint16_t h) { return _cvtsh_ss(h); }

const float* act_row(const MatmulTile& t, int j) {
  return reinterpret_cast<const float*>(static_cast<const uint8_t*>(t.x) + j * t.x_stride);
}
const BlockQ8_0* q8_row(const MatmulTile& t, int j) {
  return reinterpret_cast<const BlockQ8_0*>(static_cast<const uint8_t*>(t.x) + j * t.x_stride);
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
// Two consecutive 32-element blocks share one 512-bit register (an odd last block fills the
// low half, with zero scales above). vpdpbusd needs one unsigned operand. q8_0 x q8_0: feed
// x + 128 (the sign bit flipped) as the unsigned side and start each sum at -128 * sum(w),
// computed once per weight block: (x + 128).w - 128 * sum(w) = x.w. q4_0 stores q + 8 in
// 0..15, already unsigned: start at -8 * sum(x), computed once per activation block.

inline __m256i load32(const int8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

inline __m256i unpack_nibbles(const uint8_t* qs) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);  // low nibbles then high
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
}

inline __m256i block_bytes(const BlockQ8_0& b) { return load32(b.qs); }
inline __m256i block_bytes(const BlockQ4_0& b) { return unpack_nibbles(b.qs); }

// Quants of blocks b (low half) and b + 1 (high half, zero unless kPair).
template <bool kPair, class Block>
inline __m512i pair_bytes(const Block* blocks) {
  const __m512i low = _mm512_zextsi256_si512(block_bytes(blocks[0]));
  return kPair ? _mm512_inserti64x4(low, block_bytes(blocks[1]), 1) : low;
}

// Scale of block b in the low eight lanes, of block b + 1 (or zero) in the high eight.
template <bool kPair, class Block>
inline __m512 pair_scales(const Block* blocks) {
  const __m512 low = _mm512_zextps256_ps512(_mm256_set1_ps(half(blocks[0].d)));
  return kPair ? _mm512_insertf32x8(low, _mm256_set1_ps(half(blocks[1].d)), 1) : low;
}

// -factor * (sum of each group of four signed bytes): the starting value of a dot product.
inline __m512i negated_scaled_sums(uint8_t factor, __m512i signed_bytes) {
  const __m512i sums = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(static_cast<char>(factor)), signed_bytes);
  return _mm512_sub_epi32(_mm512_setzero_si512(), sums);
}

template <class Block, bool kQ4>
struct QuantTile {
  template <int R, int T>
  struct Of {
    template <bool kPair>
    static void step(const Block* const (&w)[R], const BlockQ8_0* const (&x)[T], __m512 (&acc)[R][T]) {
      __m512i xv[T], x_start[T];
      __m512 dx[T];
      for (int j = 0; j < T; ++j) {
        const __m512i xq = pair_bytes<kPair>(x[j]);
        if constexpr (kQ4) {
          xv[j] = xq;
          x_start[j] = negated_scaled_sums(8, xq);
        } else {
          xv[j] = _mm512_xor_si512(xq, _mm512_set1_epi8(static_cast<char>(0x80)));  // x + 128, unsigned
        }
        dx[j] = pair_scales<kPair>(x[j]);
      }
      for (int r = 0; r < R; ++r) {
        const __m512i wv = pair_bytes<kPair>(w[r]);
        const __m512 dw = pair_scales<kPair>(w[r]);
        __m512i w_start{};
        if constexpr (!kQ4) w_start = negated_scaled_sums(128, wv);
        for (int j = 0; j < T; ++j) {
          const __m512i dot = kQ4 ? _mm512_dpbusd_epi32(x_start[j], wv, xv[j]) : _mm512_dpbusd_epi32(w_start, xv[j], wv);
          acc[r][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(dw, dx[j]), acc[r][j]);
        }
      }
    }

    static void run(const MatmulTile& t) {
      __m512 acc[R][T];
      for (auto& row : acc)
        for (auto& a : row) a = _mm512_setzero_ps();
      const Block* w[R];
      const BlockQ8_0* x[T];
      for (int r = 0; r < R; ++r) w[r] = reinterpret_cast<const Block*>(t.w + r * t.w_stride);
      for (int j = 0; j < T; ++j) x[j] = q8_row(t, j);
      const int64_t blocks = t.k / kQK;
      for (int64_t b = 0; b + 2 <= blocks; b += 2) {
        step<true>(w, x, acc);
        for (auto& p : w) p += 2;
        for (auto& p : x) p += 2;
      }
      if (blocks % 2) step<false>(w, x, acc);
      for (int r = 0; r < R; ++r)
        for (int j = 0; j < T; ++j) t.y[j * t.y_stride + r] = _mm512_reduce_add_ps(acc[r][j]);
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
}  // namespace orchard::cpu::avx512

namespace orchard::cpu {

const IsaKernels& avx512_kernels() {
  using namespace avx512;
  static const IsaKernels table{Isa::Avx512,
                                dispatch_tile<FloatTile<LoadF32>::Of>,
                                dispatch_tile<FloatTile<LoadF16>::Of>,
                                dispatch_tile<FloatTile<LoadBF16>::Of>,
                                dispatch_tile<QuantTile<BlockQ8_0, false>::Of>,
                                dispatch_tile<QuantTile<BlockQ4_0, true>::Of>,
                                dot,
                                axpy,
                                silu_mul_loop,
                                exp_sum_loop};
  return table;
}

}  // namespace orchard::cpu
