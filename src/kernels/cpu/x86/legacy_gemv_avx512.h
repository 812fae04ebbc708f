#pragma once
// The decode (one token) matrix-vector product for q4_0 and q8_0 weights on AVX-512 VNNI.
// One token cannot amortize the per-block work of the register tiles (legacy_quant_tile.h) over
// several tokens, so here the activation row is arranged once per matmul into the order the
// weight unpacking produces, with everything that depends on x alone precomputed:
//
//   weights  one 64-byte load (+ the few bytes past it) holds a group of whole blocks; vpermt2w
//            gathers their quants (at even offsets: blocks are 2 + 16 / 32 bytes) into one
//            vector, vpermw spreads their f16 scales over the blocks' lanes
//   q4_0     4 blocks per group; and / shift+and give two vectors: the low nibbles (elements
//            0..15 of each block) and the high ones (16..31), so x is stored in that order
//   q8_0     2 blocks per group; the signed quants are biased by +128 (vpdpbusd takes u8 x s8)
//   both     sum q x = sum u x - offset * sum x: the integer dot starts from the precomputed
//            -offset * sum x of each block, spread over its lanes; every int32 / float lane
//            belongs to one block, so one cvt + fmadd per group applies d_w d_x, and each row
//            is reduced to a float once, at its end
//
// Activations are quantized by the same q8_0 encoder as the tiles (q8_activations.h), so the
// result equals theirs up to the summation order.
#include <immintrin.h>

#include <array>
#include <cstring>

#include "kernels/cpu/kernels.h"
#include "kernels/cpu/x86/q8_activations.h"
#include "quant/blocks.h"

// Only the AVX-512 file includes this (see tile_dispatch.h on ISA namespaces).
namespace orchard::cpu::legacy_avx512 {

struct GemvQ4_0 {
  using Block = BlockQ4_0;
  static constexpr int kParts = 2;  // low and high nibbles
  static constexpr int kOffset = 8;
  static void unsigned_quants(__m512i packed, __m512i (&u)[kParts]) {
    const __m512i low4 = _mm512_set1_epi8(0x0f);
    u[0] = _mm512_and_si512(packed, low4);
    u[1] = _mm512_and_si512(_mm512_srli_epi16(packed, 4), low4);
  }
};

struct GemvQ8_0 {
  using Block = BlockQ8_0;
  static constexpr int kParts = 1;
  static constexpr int kOffset = 128;
  static void unsigned_quants(__m512i packed, __m512i (&u)[kParts]) {
    u[0] = _mm512_xor_si512(packed, _mm512_set1_epi8(static_cast<char>(0x80)));
  }
};

// V: the q8_0 activation quantizer's vector policy (q8_activations.h).
template <class V, class Format>
struct LegacyGemv {
  using Block = typename Format::Block;
  static constexpr int kParts = Format::kParts;
  static constexpr int kGroupBlocks = 2 * kParts;                  // 64 bytes of quants per part
  static constexpr int kPartBytes = kQK / kParts;                  // one block's bytes in one part
  static constexpr int kLanes = 16 / kGroupBlocks;                 // int32 lanes per block
  static constexpr int kBlockWords = sizeof(Block) / 2;            // 9, 17
  static constexpr int kGroupWords = kGroupBlocks * kBlockWords;   // 36, 34: 32 in the first load
  static constexpr int kGroupBytes = 2 * kGroupWords;
  static_assert(sizeof(Block) % 2 == 0 && kGroupWords > 32 && kGroupWords <= 40);
  static constexpr int kRows = 4;                                  // rows per pass over x
  static constexpr int kPrefetch = 1024;                           // bytes ahead in each row

  struct Group {  // the scratch buffer holding these need not be 64-byte aligned: unaligned loads
    int8_t x[kParts][64];
    int32_t start[16];  // -offset * sum x of each block, spread over its lanes
    float dx[16];       // each block's d_x over its lanes
  };

  static int64_t groups(int64_t k) { return (k / kQK + kGroupBlocks - 1) / kGroupBlocks; }
  static size_t act_bytes(int64_t k) { return static_cast<size_t>(groups(k)) * sizeof(Group); }

  static void prepare(const float* x, void* act, int64_t k) {
    auto* g = static_cast<Group*>(act);
    const int64_t blocks = k / kQK;
    // A partial last group holds zeros: its missing blocks add nothing.
    if (blocks % kGroupBlocks) std::memset(&g[blocks / kGroupBlocks], 0, sizeof(Group));
    for (int64_t b = 0; b < blocks; ++b) {
      Group& group = g[b / kGroupBlocks];
      const int i = static_cast<int>(b % kGroupBlocks);
      int8_t qs[kQK];
      int sum;
      const float d = legacy::Q8Activations<V>::block(x + b * kQK, qs, sum);
      const float dx = _cvtsh_ss(_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT));  // as q8_0 stores it
      for (int p = 0; p < kParts; ++p) std::memcpy(group.x[p] + i * kPartBytes, qs + p * kPartBytes, kPartBytes);
      for (int l = 0; l < kLanes; ++l) {
        group.start[i * kLanes + l] = -Format::kOffset / kLanes * sum;
        group.dx[i * kLanes + l] = dx;
      }
    }
  }

  // Word indices into a group's bytes (two registers, words 0..63): its blocks' quants in
  // order, and each block's scale repeated over its lanes (16 words, the low half).
  static constexpr auto kQuantWords = [] {
    std::array<int16_t, 32> idx{};
    constexpr int per_block = 32 / kGroupBlocks;
    for (int w = 0; w < 32; ++w) idx[w] = static_cast<int16_t>(kBlockWords * (w / per_block) + 1 + w % per_block);
    return idx;
  }();
  static constexpr auto kScaleWords = [] {
    std::array<int16_t, 32> idx{};
    for (int l = 0; l < 16; ++l) idx[l] = static_cast<int16_t>(kBlockWords * (l / kLanes));
    return idx;
  }();

  template <int R>
  static void step(const Group& g, const __m512i (&a)[R], const __m512i (&b)[R], __m512 (&acc)[R]) {
    const __m512i quant_words = _mm512_loadu_si512(kQuantWords.data());
    const __m512i scale_words = _mm512_loadu_si512(kScaleWords.data());
    for (int r = 0; r < R; ++r) {
      __m512i u[kParts];
      Format::unsigned_quants(_mm512_permutex2var_epi16(a[r], quant_words, b[r]), u);
      __m512i dot = _mm512_loadu_si512(g.start);
      for (int p = 0; p < kParts; ++p) dot = _mm512_dpbusd_epi32(dot, u[p], _mm512_loadu_si512(g.x[p]));
      const __m512 dw = _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutexvar_epi16(scale_words, a[r])));
      acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(dw, _mm512_loadu_ps(g.dx)), acc[r]);
    }
  }

  template <int R>
  static void pass(const uint8_t* w, size_t w_stride, const Group* act, int64_t k, float* y) {
    const int64_t blocks = k / kQK, full = blocks / kGroupBlocks;
    const int tail = static_cast<int>(blocks % kGroupBlocks);
    const __mmask32 rest = (1u << (kGroupWords - 32)) - 1;  // the words past the first 64 bytes
    __m512 acc[R];
    for (auto& v : acc) v = _mm512_setzero_ps();
    __m512i a[R], b[R];
    for (int64_t gi = 0; gi < full; ++gi) {
      for (int r = 0; r < R; ++r) {
        const uint8_t* p = w + r * w_stride + gi * kGroupBytes;
        for (int line = 0; line < kGroupBytes; line += 64) _mm_prefetch(reinterpret_cast<const char*>(p) + kPrefetch + line, _MM_HINT_T0);
        a[r] = _mm512_loadu_si512(p);
        b[r] = _mm512_castsi128_si512(_mm_maskz_loadu_epi16(rest, p + 64));
      }
      step<R>(act[gi], a, b, acc);
    }
    if (tail) {  // fewer blocks than a group: masked loads, nothing read past the row
      const __mmask32 words = (1u << (tail * kBlockWords)) - 1;
      for (int r = 0; r < R; ++r) {
        a[r] = _mm512_maskz_loadu_epi16(words, w + r * w_stride + full * kGroupBytes);
        b[r] = _mm512_setzero_si512();
      }
      step<R>(act[full], a, b, acc);
    }
    for (int r = 0; r < R; ++r) y[r] = _mm512_reduce_add_ps(acc[r]);
  }

  // The last rows % kRows rows.
  template <int R>
  static void last_rows(const uint8_t* w, size_t w_stride, int64_t left, const Group* act, int64_t k, float* y) {
    if constexpr (R > 0) {
      if (left == R) pass<R>(w, w_stride, act, k, y);
      else last_rows<R - 1>(w, w_stride, left, act, k, y);
    }
  }

  static void rows(const uint8_t* w, size_t w_stride, int64_t rows, const void* act, int64_t k, float* y) {
    const auto* g = static_cast<const Group*>(act);
    int64_t r = 0;
    for (; r + kRows <= rows; r += kRows) pass<kRows>(w + r * w_stride, w_stride, g, k, y + r);
    last_rows<kRows - 1>(w + r * w_stride, w_stride, rows - r, g, k, y + r);
  }

  static GemvKernel kernel() { return {act_bytes, prepare, rows}; }
};

}  // namespace orchard::cpu::legacy_avx512
