#pragma once
// Per weight format, what the NEON tile kernels (matmul_neon.cpp, matmul_i8mm.cpp) need of one
// 32-element block: its quants as 32 signed bytes in element order, its scale, and for formats
// with an additive term its minimum. Everything else about the tiles is shared. Every quant
// these formats hold fits a signed byte (4/5-bit quants as they are, q4_0/q5_0 less their
// offset, iq4_nl's code book, MLX 8-bit less 128), so sdot / smmla take them directly.
//
// A format F has:
//   Act                     activation block (BlockQ8_0, or BlockQ8_1 for q4_1 / q5_1)
//   kMin                    the block dot has the term min * d_x * sum q_x
//   quants(row, b), scale(row, b), min(row, b) for block b of the weight row at `row`
// The unnamed namespace gives each including file its own copy, built with its own flags.
#include <arm_neon.h>

#include <bit>
#include <cstdint>
#include <cstring>

#include "quant/blocks.h"

namespace orchard::cpu::arm {
namespace {

struct Quants {
  int8x16_t lo, hi;  // elements 0..15, 16..31
};

inline float f16_value(uint16_t h) { return static_cast<float>(std::bit_cast<__fp16>(h)); }
inline float f32_at(const uint8_t* p) {
  float f;
  std::memcpy(&f, p, sizeof f);
  return f;
}
template <class Block>
const Block& block_at(const uint8_t* row, int64_t b) {
  return reinterpret_cast<const Block*>(row)[b];
}

inline Quants load_quants(const BlockQ8_0& b) { return {vld1q_s8(b.qs), vld1q_s8(b.qs + 16)}; }
inline Quants load_quants(const BlockQ8_1& b) { return {vld1q_s8(b.qs), vld1q_s8(b.qs + 16)}; }

// ggml's 4-bit layout: element j in the low nibble of byte j, element j + 16 in its high nibble.
inline uint8x16x2_t nibbles(const uint8_t* qs) {
  const uint8x16_t packed = vld1q_u8(qs);
  return {{vandq_u8(packed, vdupq_n_u8(0x0f)), vshrq_n_u8(packed, 4)}};
}
inline Quants as_signed(uint8x16x2_t q) { return {vreinterpretq_s8_u8(q.val[0]), vreinterpretq_s8_u8(q.val[1])}; }
inline Quants minus(Quants q, int8_t offset) {
  return {vsubq_s8(q.lo, vdupq_n_s8(offset)), vsubq_s8(q.hi, vdupq_n_s8(offset))};
}

// The q5 formats' nibbles with bit j of qh (little-endian word) as bit 4 of element j: byte j
// looks up byte j / 8 of the word and tests its own bit j % 8.
inline uint8x16x2_t five_bits(const uint8_t* qs, const uint8_t* qh) {
  uint32_t word;
  std::memcpy(&word, qh, 4);
  const uint8x16_t bytes = vreinterpretq_u8_u32(vdupq_n_u32(word));
  static constexpr uint8_t kLo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
  static constexpr uint8_t kHi[16] = {2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3};
  static constexpr uint8_t kBit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  const uint8x16_t bit = vld1q_u8(kBit), fifth = vdupq_n_u8(0x10);
  const uint8x16_t lo = vandq_u8(vtstq_u8(vqtbl1q_u8(bytes, vld1q_u8(kLo)), bit), fifth);
  const uint8x16_t hi = vandq_u8(vtstq_u8(vqtbl1q_u8(bytes, vld1q_u8(kHi)), bit), fifth);
  uint8x16x2_t q = nibbles(qs);
  q.val[0] = vorrq_u8(q.val[0], lo);
  q.val[1] = vorrq_u8(q.val[1], hi);
  return q;
}

// A GGUF block type with an f16 scale `d` (and f16 minimum `m` when kMin).
template <class Block, class Activation, bool Min>
struct GgmlFormat {
  using Act = Activation;
  static constexpr bool kMin = Min;
  static float scale(const uint8_t* row, int64_t b) { return f16_value(block_at<Block>(row, b).d); }
  static float min(const uint8_t* row, int64_t b) {
    if constexpr (Min) return f16_value(block_at<Block>(row, b).m);
    return 0.0f;
  }
};

struct Q8_0 : GgmlFormat<BlockQ8_0, BlockQ8_0, false> {
  static Quants quants(const uint8_t* row, int64_t b) { return load_quants(block_at<BlockQ8_0>(row, b)); }
};
struct Q4_0 : GgmlFormat<BlockQ4_0, BlockQ8_0, false> {
  static Quants quants(const uint8_t* row, int64_t b) { return minus(as_signed(nibbles(block_at<BlockQ4_0>(row, b).qs)), 8); }
};
struct Q4_1 : GgmlFormat<BlockQ4_1, BlockQ8_1, true> {
  static Quants quants(const uint8_t* row, int64_t b) { return as_signed(nibbles(block_at<BlockQ4_1>(row, b).qs)); }
};
struct Q5_0 : GgmlFormat<BlockQ5_0, BlockQ8_0, false> {
  static Quants quants(const uint8_t* row, int64_t b) {
    const BlockQ5_0& q = block_at<BlockQ5_0>(row, b);
    return minus(as_signed(five_bits(q.qs, q.qh)), 16);
  }
};
struct Q5_1 : GgmlFormat<BlockQ5_1, BlockQ8_1, true> {
  static Quants quants(const uint8_t* row, int64_t b) {
    const BlockQ5_1& q = block_at<BlockQ5_1>(row, b);
    return as_signed(five_bits(q.qs, q.qh));
  }
};
struct IQ4_NL : GgmlFormat<BlockIQ4_NL, BlockQ8_0, false> {
  static Quants quants(const uint8_t* row, int64_t b) {  // the nibbles index the code book
    const int8x16_t book = vld1q_s8(kIQ4NLValues);
    const uint8x16x2_t i = nibbles(block_at<BlockIQ4_NL>(row, b).qs);
    return {vqtbl1q_s8(book, i.val[0]), vqtbl1q_s8(book, i.val[1])};
  }
};

// MLX affine groups (quant/mlx_affine.cpp): float scale, float bias, then Group quants packed
// in element order, low bits first. The bias is the minimum term against q8_0's d_x sum q_x.
// 8-bit quants (0..255) are offset to signed bytes (q - 128); the bias absorbs 128 * scale.
template <int Bits, int Group>
struct MlxAffine {
  using Act = BlockQ8_0;
  static constexpr bool kMin = true;
  static constexpr size_t kGroupBytes = 8 + Group * Bits / 8;
  static constexpr int kBlocksPerGroup = Group / kQK;

  static const uint8_t* group(const uint8_t* row, int64_t b) { return row + (b / kBlocksPerGroup) * kGroupBytes; }
  static Quants quants(const uint8_t* row, int64_t b) {
    const int first = static_cast<int>(b % kBlocksPerGroup) * kQK;
    const uint8_t* qs = group(row, b) + 8;
    if constexpr (Bits == 8) {
      const uint8x16_t flip = vdupq_n_u8(0x80);
      return as_signed({{veorq_u8(vld1q_u8(qs + first), flip), veorq_u8(vld1q_u8(qs + first + 16), flip)}});
    } else {
      // Byte i holds element 2i (low nibble) and 2i + 1 (high): zip them back into order.
      const uint8x16_t packed = vld1q_u8(qs + first / 2);
      const uint8x16_t lo = vandq_u8(packed, vdupq_n_u8(0x0f)), hi = vshrq_n_u8(packed, 4);
      return as_signed({{vzip1q_u8(lo, hi), vzip2q_u8(lo, hi)}});
    }
  }
  static float scale(const uint8_t* row, int64_t b) { return f32_at(group(row, b)); }
  static float min(const uint8_t* row, int64_t b) {
    const float bias = f32_at(group(row, b) + 4);
    return Bits == 8 ? bias + 128.0f * scale(row, b) : bias;
  }
};

// What multiplies a weight block's minimum: d_x * sum q_x, stored by q8_1, summed for q8_0.
inline float act_sum(const BlockQ8_1& x, const Quants&) { return f16_value(x.s); }
inline float act_sum(const BlockQ8_0& x, const Quants& q) {
  return f16_value(x.d) * static_cast<float>(vaddlvq_s8(q.lo) + vaddlvq_s8(q.hi));
}

}  // namespace
}  // namespace orchard::cpu::arm
