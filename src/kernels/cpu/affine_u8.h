#pragma once
// Every int8-dot weight format, seen one way: weight element i of sub-block s is
//   w[i] = scale[s] * u[i] + offset[s],   u[i] an unsigned byte,
// with sub-blocks of kSub elements (16 or 32). q8_0 is u = q + 128 with offset = -128 * d;
// q4_0 is its nibble with offset -8 * d; q4_1 / q5_1 / q4_K / q5_K / MLX carry their own minimum
// or bias; q6_K has 16-element sub-blocks. Against activations x = dx * q (int8 q), a sub-block
// contributes  dx * scale * sum(u * q) + offset * dx * sum(q)  — so one unsigned-by-signed
// byte-dot kernel (vpdpbusd, sdot) with per-sub-block float terms serves all formats.
//
// unpack_affine_u8<T>(row, k, u, scale, offset) decodes one weight row of k elements (a
// multiple of T's block size); plain loops over fixed-size blocks that the compiler vectorizes
// for the ISA file that includes this header. Element order is the formats' (codecs' decode).
#include <cstdint>
#include <cstring>

#include "core/dtype.h"
#include "quant/blocks.h"
#include "quant/k_scales.h"
#include "quant/quant.h"

namespace orchard::cpu {
// Internal linkage on purpose: each ISA file compiles these loops with its own -m flags, and
// shared (inline) symbols would let the linker keep one ISA's copy for every caller.
namespace {

// Sub-block length of a format in this view (0: not an int8-dot format).
constexpr int affine_u8_sub_block(DType t) {
  switch (t) {
    case DType::Q8_0: case DType::Q4_0: case DType::Q4_1: case DType::Q5_0: case DType::Q5_1:
    case DType::IQ4_NL: case DType::Q4_K: case DType::Q5_K:
    case DType::MLX_Q4_G32: case DType::MLX_Q4_G64: case DType::MLX_Q4_G128:
    case DType::MLX_Q8_G32: case DType::MLX_Q8_G64: case DType::MLX_Q8_G128:
      return 32;
    case DType::Q6_K: return 16;
    default: return 0;
  }
}

namespace affine_u8_detail {

inline float half(uint16_t h) { return f16_to_f32(h); }

// The 32 nibbles of a q4_0-style block: byte j holds element j (low) and j + 16 (high).
inline void nibbles32(const uint8_t* qs, uint8_t* u) {
  for (int j = 0; j < 16; ++j) {
    u[j] = qs[j] & 0x0f;
    u[j + 16] = qs[j] >> 4;
  }
}
inline void fifth_bits32(const uint8_t* qh, uint8_t* u) {
  uint32_t bits;
  std::memcpy(&bits, qh, 4);
  for (int j = 0; j < 32; ++j) u[j] |= static_cast<uint8_t>(((bits >> j) & 1) << 4);
}

template <int Bits, int Group>
struct MlxBlock {
  float scale, bias;
  uint8_t qs[Group * Bits / 8];
};

}  // namespace affine_u8_detail

template <DType T>
void unpack_affine_u8(const uint8_t* row, int64_t k, uint8_t* u, float* scale, float* offset) {
  using namespace affine_u8_detail;
  if constexpr (T == DType::Q8_0) {
    const auto* b = reinterpret_cast<const BlockQ8_0*>(row);
    for (int64_t i = 0; i < k / kQK; ++i, ++b, u += kQK) {
      for (int j = 0; j < kQK; ++j) u[j] = static_cast<uint8_t>(b->qs[j] ^ 0x80);  // q + 128
      scale[i] = half(b->d);
      offset[i] = -128.0f * scale[i];
    }
  } else if constexpr (T == DType::Q4_0 || T == DType::IQ4_NL) {
    const auto* b = reinterpret_cast<const BlockQ4_0*>(row);  // IQ4_NL has the same layout
    for (int64_t i = 0; i < k / kQK; ++i, ++b, u += kQK) {
      nibbles32(b->qs, u);
      if constexpr (T == DType::IQ4_NL)
        for (int j = 0; j < kQK; ++j) u[j] = static_cast<uint8_t>(kIQ4NLValues[u[j]] + 128);
      scale[i] = half(b->d);
      offset[i] = (T == DType::Q4_0 ? -8.0f : -128.0f) * scale[i];
    }
  } else if constexpr (T == DType::Q4_1) {
    const auto* b = reinterpret_cast<const BlockQ4_1*>(row);
    for (int64_t i = 0; i < k / kQK; ++i, ++b, u += kQK) {
      nibbles32(b->qs, u);
      scale[i] = half(b->d);
      offset[i] = half(b->m);
    }
  } else if constexpr (T == DType::Q5_0) {
    const auto* b = reinterpret_cast<const BlockQ5_0*>(row);
    for (int64_t i = 0; i < k / kQK; ++i, ++b, u += kQK) {
      nibbles32(b->qs, u);
      fifth_bits32(b->qh, u);
      scale[i] = half(b->d);
      offset[i] = -16.0f * scale[i];
    }
  } else if constexpr (T == DType::Q5_1) {
    const auto* b = reinterpret_cast<const BlockQ5_1*>(row);
    for (int64_t i = 0; i < k / kQK; ++i, ++b, u += kQK) {
      nibbles32(b->qs, u);
      fifth_bits32(b->qh, u);
      scale[i] = half(b->d);
      offset[i] = half(b->m);
    }
  } else if constexpr (T == DType::Q4_K || T == DType::Q5_K) {
    using Block = std::conditional_t<T == DType::Q4_K, BlockQ4_K, BlockQ5_K>;
    const auto* b = reinterpret_cast<const Block*>(row);
    for (int64_t i = 0; i < k / kQK_K; ++i, ++b) {
      const float d = half(b->d), dmin = half(b->dmin);
      uint8_t sc[8], m[8];
      unpack_k4_scales(b->scales, sc, m);
      // Four 64-element chunks: low nibbles of 32 bytes, then their high nibbles.
      for (int c = 0; c < 4; ++c, u += 64) {
        const uint8_t* qs = b->qs + 32 * c;
        for (int j = 0; j < 32; ++j) {
          u[j] = qs[j] & 0x0f;
          u[j + 32] = qs[j] >> 4;
        }
        if constexpr (T == DType::Q5_K)
          for (int j = 0; j < 32; ++j) {
            u[j] |= static_cast<uint8_t>(((b->qh[j] >> (2 * c)) & 1) << 4);
            u[j + 32] |= static_cast<uint8_t>(((b->qh[j] >> (2 * c + 1)) & 1) << 4);
          }
        for (int h = 0; h < 2; ++h) {
          scale[h] = d * static_cast<float>(sc[2 * c + h]);
          offset[h] = -dmin * static_cast<float>(m[2 * c + h]);
        }
        scale += 2;
        offset += 2;
      }
    }
  } else if constexpr (T == DType::Q6_K) {
    const auto* b = reinterpret_cast<const BlockQ6_K*>(row);
    for (int64_t i = 0; i < k / kQK_K; ++i, ++b) {
      const float d = half(b->d);
      // Two 128-element halves; in each, element l + 32 * p (p < 4) takes 4 low bits from
      // ql (byte l or l + 32, low or high nibble) and 2 high bits from qh[l] at bit 2p.
      for (int half_block = 0; half_block < 2; ++half_block, u += 128) {
        const uint8_t* ql = b->ql + 64 * half_block;
        const uint8_t* qh = b->qh + 32 * half_block;
        for (int l = 0; l < 32; ++l) {
          u[l] = static_cast<uint8_t>((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4));
          u[l + 32] = static_cast<uint8_t>((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4));
          u[l + 64] = static_cast<uint8_t>((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
          u[l + 96] = static_cast<uint8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
        }
      }
      for (int s = 0; s < 16; ++s) {
        scale[s] = d * static_cast<float>(b->scales[s]);
        offset[s] = -32.0f * scale[s];
      }
      scale += 16;
      offset += 16;
    }
  } else {
    constexpr int kBits = (T == DType::MLX_Q4_G32 || T == DType::MLX_Q4_G64 || T == DType::MLX_Q4_G128) ? 4 : 8;
    constexpr int kGroup = (T == DType::MLX_Q4_G32 || T == DType::MLX_Q8_G32)   ? 32
                           : (T == DType::MLX_Q4_G64 || T == DType::MLX_Q8_G64) ? 64
                                                                                 : 128;
    static_assert(T >= DType::MLX_Q4_G32 && T <= DType::MLX_Q8_G128, "not an int8-dot format");
    const auto* b = reinterpret_cast<const MlxBlock<kBits, kGroup>*>(row);
    for (int64_t i = 0; i < k / kGroup; ++i, ++b, u += kGroup) {
      if constexpr (kBits == 8) {
        std::memcpy(u, b->qs, kGroup);
      } else {
        for (int j = 0; j < kGroup / 2; ++j) {  // element 2j in the low nibble
          u[2 * j] = b->qs[j] & 0x0f;
          u[2 * j + 1] = b->qs[j] >> 4;
        }
      }
      for (int s = 0; s < kGroup / 32; ++s) {
        *scale++ = b->scale;
        *offset++ = b->bias;
      }
    }
  }
}

}  // namespace
}  // namespace orchard::cpu
