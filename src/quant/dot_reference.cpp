// Plain reference dot products, one weight row against one activation row in the weight type's
// vec_dot_type (see quant.h): integer sums per block, scaled by the blocks' scales, in the
// order ggml's scalar ggml_vec_dot_* use. The fast kernels in src/kernels are tested against
// these; the generic ISA uses them directly.
#include <cstring>

#include "quant/blocks.h"
#include "quant/codecs.h"
#include "quant/k_scales.h"
#include "quant/quant.h"

namespace orchard::codecs {
namespace {

uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Element j (< 32) of a 4-bit block: low nibbles hold elements 0..15, high nibbles 16..31.
inline int nibble(const uint8_t* qs, int j) { return j < kQK / 2 ? qs[j] & 0x0f : qs[j - kQK / 2] >> 4; }
inline int fifth_bit(const uint8_t* qh, int j) { return static_cast<int>((load_u32(qh) >> j) & 1) << 4; }

// sum over blocks of d_w * d_x * sum_j q_w[j] * q_x[j] (+ the minimum term for q4_1 / q5_1).
template <class Block, class Quant>
float dot_q8_0_activations(const void* w, const void* x, int64_t n, Quant quant) {
  const auto* wb = static_cast<const Block*>(w);
  const auto* xb = static_cast<const BlockQ8_0*>(x);
  float sum = 0.0f;
  for (int64_t b = 0; b < n / kQK; ++b) {
    int isum = 0;
    for (int j = 0; j < kQK; ++j) isum += quant(wb[b], j) * xb[b].qs[j];
    sum += static_cast<float>(isum) * (f16_to_f32(wb[b].d) * f16_to_f32(xb[b].d));
  }
  return sum;
}

template <class Block, class Quant>
float dot_q8_1_activations(const void* w, const void* x, int64_t n, Quant quant) {
  const auto* wb = static_cast<const Block*>(w);
  const auto* xb = static_cast<const BlockQ8_1*>(x);
  float sum = 0.0f;
  for (int64_t b = 0; b < n / kQK; ++b) {
    int isum = 0;
    for (int j = 0; j < kQK; ++j) isum += quant(wb[b], j) * xb[b].qs[j];
    sum += f16_to_f32(wb[b].d) * f16_to_f32(xb[b].d) * static_cast<float>(isum) +
           f16_to_f32(wb[b].m) * f16_to_f32(xb[b].s);
  }
  return sum;
}


// A k-quant super-block as integers: sum_i x_i w_i = d * sum_g scale_g * sum_{i in g} q_i x_i
// - dmin * sum_g min_g * sum_{i in g} x_i over the 16 groups of 16 elements, with the
// activation's group sums sum_{i in g} x_i taken from q8_K's bsums (as ggml does).
struct SuperBlockInts {
  int8_t q[kQK_K];
  int scale[16], min[16];
  float d, dmin;
};

template <class Block, class Unpack>
float dot_q8_k_activations(const void* w, const void* x, int64_t n, Unpack unpack) {
  const auto* wb = static_cast<const Block*>(w);
  const auto* xb = static_cast<const BlockQ8_K*>(x);
  float sum = 0.0f;
  SuperBlockInts s{};
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    unpack(wb[b], s);
    int isum = 0, msum = 0;
    for (int g = 0; g < 16; ++g) {
      int gsum = 0;
      for (int j = 16 * g; j < 16 * g + 16; ++j) gsum += s.q[j] * xb[b].qs[j];
      isum += s.scale[g] * gsum;
      msum += s.min[g] * xb[b].bsums[g];
    }
    sum += xb[b].d * (s.d * static_cast<float>(isum) - s.dmin * static_cast<float>(msum));
  }
  return sum;
}

// q4_K / q5_K: 64 elements per 32 bytes of qs, the first 32 in the low nibbles.
template <class Block>
void unpack_k4(const Block& b, SuperBlockInts& s, const uint8_t* qh) {
  uint8_t scales[8], mins[8];
  unpack_k4_scales(b.scales, scales, mins);
  for (int g = 0; g < 16; ++g) {
    s.scale[g] = scales[g / 2];
    s.min[g] = mins[g / 2];
  }
  for (int j = 0; j < kQK_K; ++j) {
    const int byte = b.qs[(j / 64) * 32 + j % 32];
    const int high = qh ? ((qh[j % 32] >> (j / 32)) & 1) << 4 : 0;  // q5_K: bit j / 32 of qh
    s.q[j] = static_cast<int8_t>(((j / 32) % 2 ? byte >> 4 : byte & 0x0f) | high);
  }
  s.d = f16_to_f32(b.d);
  s.dmin = f16_to_f32(b.dmin);
}

}  // namespace

float dot_f32(const void* w, const void* x, int64_t n) {
  const auto* a = static_cast<const float*>(w);
  const auto* b = static_cast<const float*>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}
float dot_f16(const void* w, const void* x, int64_t n) {
  const auto* a = static_cast<const uint16_t*>(w);
  const auto* b = static_cast<const float*>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += f16_to_f32(a[i]) * b[i];
  return sum;
}
float dot_bf16(const void* w, const void* x, int64_t n) {
  const auto* a = static_cast<const uint16_t*>(w);
  const auto* b = static_cast<const float*>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += bf16_to_f32(a[i]) * b[i];
  return sum;
}

float dot_q8_0(const void* w, const void* x, int64_t n) {
  return dot_q8_0_activations<BlockQ8_0>(w, x, n, [](const BlockQ8_0& b, int j) { return int{b.qs[j]}; });
}
float dot_q4_0(const void* w, const void* x, int64_t n) {
  return dot_q8_0_activations<BlockQ4_0>(w, x, n, [](const BlockQ4_0& b, int j) { return nibble(b.qs, j) - 8; });
}
float dot_q5_0(const void* w, const void* x, int64_t n) {
  return dot_q8_0_activations<BlockQ5_0>(
      w, x, n, [](const BlockQ5_0& b, int j) { return (nibble(b.qs, j) | fifth_bit(b.qh, j)) - 16; });
}
float dot_iq4_nl(const void* w, const void* x, int64_t n) {
  return dot_q8_0_activations<BlockIQ4_NL>(
      w, x, n, [](const BlockIQ4_NL& b, int j) { return int{kIQ4NLValues[nibble(b.qs, j)]}; });
}
float dot_q4_1(const void* w, const void* x, int64_t n) {
  return dot_q8_1_activations<BlockQ4_1>(w, x, n, [](const BlockQ4_1& b, int j) { return nibble(b.qs, j); });
}
float dot_q5_1(const void* w, const void* x, int64_t n) {
  return dot_q8_1_activations<BlockQ5_1>(
      w, x, n, [](const BlockQ5_1& b, int j) { return nibble(b.qs, j) | fifth_bit(b.qh, j); });
}

float dot_q2_k(const void* w, const void* x, int64_t n) {
  return dot_q8_k_activations<BlockQ2_K>(w, x, n, [](const BlockQ2_K& b, SuperBlockInts& s) {
    for (int g = 0; g < 16; ++g) {
      s.scale[g] = b.scales[g] & 0x0f;
      s.min[g] = b.scales[g] >> 4;
    }
    // Element 128h + 32k + l: bits 2k of qs[32h + l].
    for (int j = 0; j < kQK_K; ++j) s.q[j] = static_cast<int8_t>((b.qs[(j / 128) * 32 + j % 32] >> (2 * ((j / 32) % 4))) & 3);
    s.d = f16_to_f32(b.d);
    s.dmin = f16_to_f32(b.dmin);
  });
}
float dot_q3_k(const void* w, const void* x, int64_t n) {
  return dot_q8_k_activations<BlockQ3_K>(w, x, n, [](const BlockQ3_K& b, SuperBlockInts& s) {
    int8_t scales[16];
    unpack_q3_k_scales(b.scales, scales);
    for (int g = 0; g < 16; ++g) {
      s.scale[g] = scales[g];
      s.min[g] = 0;
    }
    // Low two bits as q2_K's; hmask[l] bit j / 32 set means +0, clear means -4.
    for (int j = 0; j < kQK_K; ++j) {
      const int low = (b.qs[(j / 128) * 32 + j % 32] >> (2 * ((j / 32) % 4))) & 3;
      s.q[j] = static_cast<int8_t>(low - ((b.hmask[j % 32] >> (j / 32)) & 1 ? 0 : 4));
    }
    s.d = f16_to_f32(b.d);
    s.dmin = 0.0f;
  });
}
float dot_q4_k(const void* w, const void* x, int64_t n) {
  return dot_q8_k_activations<BlockQ4_K>(
      w, x, n, [](const BlockQ4_K& b, SuperBlockInts& s) { unpack_k4(b, s, nullptr); });
}
float dot_q5_k(const void* w, const void* x, int64_t n) {
  return dot_q8_k_activations<BlockQ5_K>(w, x, n, [](const BlockQ5_K& b, SuperBlockInts& s) { unpack_k4(b, s, b.qh); });
}
float dot_q6_k(const void* w, const void* x, int64_t n) {
  return dot_q8_k_activations<BlockQ6_K>(w, x, n, [](const BlockQ6_K& b, SuperBlockInts& s) {
    for (int g = 0; g < 16; ++g) {
      s.scale[g] = b.scales[g];
      s.min[g] = 0;
    }
    // Element 128h + 32k + l: low nibble (k < 2) or high nibble (k >= 2) of ql[64h + 32(k % 2) + l],
    // top two bits at bits 2k of qh[32h + l]; stored + 32.
    for (int j = 0; j < kQK_K; ++j) {
      const int h = j / 128, k = (j / 32) % 4, l = j % 32;
      const int ql = b.ql[64 * h + 32 * (k % 2) + l];
      const int low = k < 2 ? ql & 0x0f : ql >> 4;
      const int high = (b.qh[32 * h + l] >> (2 * k)) & 3;
      s.q[j] = static_cast<int8_t>((low | (high << 4)) - 32);
    }
    s.d = f16_to_f32(b.d);
    s.dmin = 0.0f;
  });
}

}  // namespace orchard::codecs
