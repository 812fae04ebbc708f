#pragma once
// Loading q8_0 / q4_0 blocks into NEON registers as 32 signed bytes in element order (lo holds
// elements 0..15, hi 16..31), and their fp16 scales as float. Shared by matmul_neon.cpp and
// matmul_i8mm.cpp; the unnamed namespace gives each its own copy built with its own flags.
#include <arm_neon.h>

#include <bit>
#include <cstdint>

#include "quant/blocks.h"

namespace orchard::cpu::arm {
namespace {

struct Quants {
  int8x16_t lo, hi;
};

inline Quants load_quants(const BlockQ8_0& b) { return {vld1q_s8(b.qs), vld1q_s8(b.qs + 16)}; }

inline Quants load_quants(const BlockQ4_0& b) {  // nibble q stands for q - 8
  const uint8x16_t packed = vld1q_u8(b.qs);
  const int8x16_t eight = vdupq_n_s8(8);
  return {vsubq_s8(vreinterpretq_s8_u8(vandq_u8(packed, vdupq_n_u8(0x0f))), eight),
          vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(packed, 4)), eight)};
}

inline float scale(uint16_t d) { return static_cast<float>(std::bit_cast<__fp16>(d)); }

}  // namespace
}  // namespace orchard::cpu::arm
