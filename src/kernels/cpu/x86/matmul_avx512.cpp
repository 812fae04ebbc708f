// AVX-512 kernels: 32 vector registers hold a whole 4 x 4 tile of accumulators. Float weights
// use 16-wide FMA; q8_0 / q4_0 use VNNI (vpdpbusd: unsigned bytes times signed bytes, summed
// in groups of four into int32).
#include <immintrin.h>

// GCC 12's AVX-512 intrinsics start from an undefined vector (e.g. _mm512_zextsi256_si512,
// _mm512_cvtph_ps) and warn about it wherever they are inlined: a false positive.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/cpu/kernels.h"
#include "kernels/cpu/vector_math.h"
#include "kernels/cpu/x86/panel_matmul.h"
#include "kernels/cpu/x86/tile_dispatch.h"
#include "kernels/cpu/x86/tile_sets.h"
#include "quant/blocks.h"

// Everything here lives in its own namespace: code built with avx512 flags must never share a
// symbol name with code built for another ISA, or the linker could merge the two.
namespace orchard::cpu::avx512 {
namespace {


// Weight rows are streamed once per token (decode): prefetching ~1 KB ahead of each of a
// tile's row streams keeps more memory requests in flight than the hardware prefetcher does.
inline void prefetch_ahead(const void* p) { _mm_prefetch(static_cast<const char*>(p) + 1024, _MM_HINT_T0); }

const float* act_row(const MatmulTile& t, int j) {
  return reinterpret_cast<const float*>(static_cast<const uint8_t*>(t.x) + j * t.x_stride);
}
const BlockQ8_0* q8_row(const MatmulTile& t, int j) {
  return reinterpret_cast<const BlockQ8_0*>(static_cast<const uint8_t*>(t.x) + j * t.x_stride);
}

// ---- f32 / f16 / bf16 weights, f32 activations ----

struct LoadF32 {
  static constexpr int kBytes = 4;  // per weight
  static __m512 load(const uint8_t* row, int64_t i) { return _mm512_loadu_ps(reinterpret_cast<const float*>(row) + i); }
};
struct LoadF16 {
  static constexpr int kBytes = 2;
  static __m512 load(const uint8_t* row, int64_t i) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 2 * i)));
  }
};
struct LoadBF16 {  // bf16 is the top half of an f32
  static constexpr int kBytes = 2;
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
          prefetch_ahead(t.w + r * t.w_stride + i * Load::kBytes);
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
// low half, with zero scales above). vpdpbusd multiplies unsigned by signed bytes, so the
// weights are made unsigned by an offset: q8_0 quants w become w + 128 (the sign bit
// flipped), q4_0 nibbles already are q + 8. Then w.x = (w + offset).x - offset * sum(x), and
// the correction depends on the activation block only: it is computed once per token and
// is the starting value of every row's dot product.

inline __m256i load32(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// A weight block's 32 quants as unsigned bytes, and the offset that made them unsigned.
inline __m256i unsigned_quants(const BlockQ8_0& b) {
  return _mm256_xor_si256(load32(b.qs), _mm256_set1_epi8(static_cast<char>(0x80)));
}
inline __m256i unsigned_quants(const BlockQ4_0& b) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs));
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);  // low nibbles then high
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
}
constexpr uint8_t quant_offset(const BlockQ8_0*) { return 128; }
constexpr uint8_t quant_offset(const BlockQ4_0*) { return 8; }

// Quants of blocks b (low half) and b + 1 (high half, zero unless kPair).
template <bool kPair, class Block, class Load>
inline __m512i pair_bytes(const Block* blocks, Load load) {
  const __m512i low = _mm512_zextsi256_si512(load(blocks[0]));
  return kPair ? _mm512_inserti64x4(low, load(blocks[1]), 1) : low;
}

// Scale of block b in the low eight lanes, of block b + 1 (or zero) in the high eight.
template <bool kPair, class Block>
inline __m512 pair_scales(const Block* blocks) {
  const __m128i low = _mm_set1_epi16(static_cast<short>(blocks[0].d));
  const __m128i high = kPair ? _mm_set1_epi16(static_cast<short>(blocks[1].d)) : _mm_setzero_si128();
  return _mm512_cvtph_ps(_mm256_set_m128i(high, low));
}

template <class Block>
struct QuantTile {
  template <int R, int T>
  struct Of {
    template <bool kPair>
    static void step(const Block* const (&w)[R], const BlockQ8_0* const (&x)[T], __m512 (&acc)[R][T]) {
      const __m512i offset = _mm512_set1_epi8(static_cast<char>(quant_offset(w[0])));
      __m512i xv[T], start[T];
      __m512 dx[T];
      for (int j = 0; j < T; ++j) {
        xv[j] = pair_bytes<kPair>(x[j], [](const BlockQ8_0& b) { return load32(b.qs); });
        start[j] = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), offset, xv[j]));
        dx[j] = pair_scales<kPair>(x[j]);
      }
      for (int r = 0; r < R; ++r) {
        prefetch_ahead(w[r]);
        const __m512i wv = pair_bytes<kPair>(w[r], [](const Block& b) { return unsigned_quants(b); });
        const __m512 dw = pair_scales<kPair>(w[r]);
        for (int j = 0; j < T; ++j) {
          const __m512i dot = _mm512_dpbusd_epi32(start[j], wv, xv[j]);
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
  static const IsaKernels table = [] {
    IsaKernels k{.isa = Isa::Avx512, .dot = dot, .axpy = axpy, .silu_mul = silu_mul_loop, .exp_sum = exp_sum_loop};
    k.set_tile(DType::F32, dispatch_tile<FloatTile<LoadF32>::Of>);
    k.set_tile(DType::F16, dispatch_tile<FloatTile<LoadF16>::Of>);
    k.set_tile(DType::BF16, dispatch_tile<FloatTile<LoadBF16>::Of>);
    k.set_tile(DType::Q8_0, dispatch_tile<QuantTile<BlockQ8_0>::Of>);
    k.set_tile(DType::Q4_0, dispatch_tile<QuantTile<BlockQ4_0>::Of>);
    add_mlx_affine_tiles_avx512(k);
    add_k_quant_tiles_avx512(k);
    // Prompt batches: the panel kernel unpacks 16 weight rows once and reuses them for every
    // token; below a few tokens the unpack costs more than it saves (decode stays on tiles).
    k.batch_matmul = avx512_panel::batch_matmul;
    k.batch_min_tokens = 8;
    add_kv_kernels_avx512(k);
    add_legacy_quant_tiles_avx512(k);
    return k;
  }();
  return table;
}

}  // namespace orchard::cpu
