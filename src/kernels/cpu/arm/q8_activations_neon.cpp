// NEON q8_0 / q8_1 / q8_K activation quantizers. They must give the reference encoders' bytes
// exactly (quant/legacy_quants.cpp encode_q8_0, quant/activation_quants.cpp encode_q8_1 and
// encode_q8_k), so they do the same float arithmetic. q8_0 / q8_1: d = amax / 127 (a division),
// id = 1 / d (0 for an all-zero block), q = roundf(x * id), the f16 of d, and q8_1's
// s = f16(sum q * d). NEON has roundf's rounding (to nearest, halves away from zero) as an
// instruction, vcvtaq_s32_f32, and nearbyint's (halves to even) for q8_K as vcvtnq_s32_f32. The
// f16 conversions round to nearest even, as f32_to_f16 does. q8_K's steps are the shared
// Q8KActivations template's.
#include <arm_neon.h>

#include <bit>

#include "kernels/cpu/arm/tile_sets.h"
#include "kernels/cpu/x86/q8_k_activations.h"
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

// What Q8KActivations needs (see its header), on 4 float lanes.
struct V {
  using F = float32x4_t;
  using I = int32x4_t;
  static constexpr int kFloats = 4;
  static F load(const float* p) { return vld1q_f32(p); }
  static F abs(F v) { return vabsq_f32(v); }
  static F max(F a, F b) { return vmaxq_f32(a, b); }
  static float max_lanes(F v) { return vmaxvq_f32(v); }
  static F mul(F v, float s) { return vmulq_n_f32(v, s); }
  static int first_equal(F v, float a) {
    uint32_t eq[4];
    vst1q_u32(eq, vceqq_f32(v, vdupq_n_f32(a)));
    for (int i = 0; i < 4; ++i)
      if (eq[i]) return i;
    return -1;
  }
  static I round(F v) { return vminq_s32(vcvtnq_s32_f32(v), vdupq_n_s32(127)); }
  static int store16(const I (&q)[4], int8_t* qs) {
    const int16x8_t lo = vcombine_s16(vmovn_s32(q[0]), vmovn_s32(q[1]));
    const int16x8_t hi = vcombine_s16(vmovn_s32(q[2]), vmovn_s32(q[3]));
    vst1q_s8(qs, vcombine_s8(vmovn_s16(lo), vmovn_s16(hi)));  // |q| <= 127: no saturation needed
    return vaddvq_s32(vaddq_s32(vaddq_s32(q[0], q[1]), vaddq_s32(q[2], q[3])));
  }
};

}  // namespace
}  // namespace orchard::cpu::q8_neon

namespace orchard::cpu {

void add_q8_activation_quantizers_neon(IsaKernels& k) {
  k.quantize_activations[dtype_index(DType::Q8_0)] = q8_neon::quantize_q8_0;
  k.quantize_activations[dtype_index(DType::Q8_1)] = q8_neon::quantize_q8_1;
  k.quantize_activations[dtype_index(DType::Q8_K)] = kquant::Q8KActivations<q8_neon::V>::quantize;
}

}  // namespace orchard::cpu
