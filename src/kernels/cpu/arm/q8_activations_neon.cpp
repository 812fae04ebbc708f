// NEON q8_0 / q8_1 activation quantizers. They must give the reference encoders' bytes exactly
// (quant/legacy_quants.cpp encode_q8_0, quant/activation_quants.cpp encode_q8_1), so they do
// the same float arithmetic: d = amax / 127 (a division), id = 1 / d (0 for an all-zero block),
// q = roundf(x * id), the f16 of d, and q8_1's s = f16(sum q * d). NEON has roundf's rounding
// (to nearest, halves away from zero) as an instruction: vcvtaq_s32_f32. The f16 conversions
// round to nearest even, as f32_to_f16 does.
#include <arm_neon.h>

#include <bit>

#include "kernels/cpu/arm/tile_sets.h"
#include "quant/blocks.h"

// Own namespace: see tile_dispatch.h on why ISA files must not share symbol names.
namespace orchard::cpu::q8_neon {
namespace {

uint16_t to_f16(float v) { return std::bit_cast<uint16_t>(static_cast<__fp16>(v)); }

// One block: writes the quants, returns d; sum gets the quants' sum.
float block(const float* src, int8_t* qs, int& sum) {
  float32x4_t v[8];
  float32x4_t amax = vdupq_n_f32(0.0f);
  for (int i = 0; i < 8; ++i) amax = vmaxq_f32(amax, vabsq_f32(v[i] = vld1q_f32(src + 4 * i)));
  const float d = vmaxvq_f32(amax) / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  int32x4_t q[8];
  for (int i = 0; i < 8; ++i) q[i] = vcvtaq_s32_f32(vmulq_n_f32(v[i], id));
  int32x4_t total = vdupq_n_s32(0);
  for (int i = 0; i < 8; i += 2) {
    // |q| <= 127, so the narrowing never saturates.
    const int16x8_t pair = vcombine_s16(vmovn_s32(q[i]), vmovn_s32(q[i + 1]));
    vst1_s8(qs + 4 * i, vmovn_s16(pair));
    total = vaddq_s32(total, vaddq_s32(q[i], q[i + 1]));
  }
  sum = vaddvq_s32(total);
  return d;
}

void quantize_q8_0(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, ++b, src += kQK) {
    int sum;
    b->d = to_f16(block(src, b->qs, sum));
  }
}

void quantize_q8_1(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_1*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, ++b, src += kQK) {
    int sum;
    const float d = block(src, b->qs, sum);
    b->d = to_f16(d);
    b->s = to_f16(static_cast<float>(sum) * d);
  }
}

}  // namespace
}  // namespace orchard::cpu::q8_neon

namespace orchard::cpu {

void add_q8_activation_quantizers_neon(IsaKernels& k) {
  k.quantize_activations[dtype_index(DType::Q8_0)] = q8_neon::quantize_q8_0;
  k.quantize_activations[dtype_index(DType::Q8_1)] = q8_neon::quantize_q8_1;
}

}  // namespace orchard::cpu
