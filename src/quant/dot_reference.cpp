// Plain reference dot products, one weight row against one activation row in the weight type's
// vec_dot_type (see quant.h): integer sums per block, scaled by the blocks' scales, in the
// order ggml's scalar ggml_vec_dot_* use. The fast kernels in src/kernels are tested against
// these; the generic ISA uses them directly.
#include <cstring>

#include "quant/blocks.h"
#include "quant/codecs.h"
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

}  // namespace orchard::codecs
