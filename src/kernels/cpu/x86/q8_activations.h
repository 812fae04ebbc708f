#pragma once
// Fast q8_0 / q8_1 activation quantizers shared by the AVX2 and AVX-512 files. They must give
// the reference encoders' bytes exactly (quant/legacy_quants.cpp encode_q8_0,
// quant/activation_quants.cpp encode_q8_1), so they do the same float arithmetic:
//   d = amax / 127 (a division), id = 1 / d (0 for an all-zero block), q = roundf(x * id),
//   the f16 of d (F16C rounds to nearest even, as f32_to_f16), q8_1's s = f16(sum q * d).
// roundf rounds halves away from zero, which no vector rounding mode does: q = trunc(v) plus
// one step away from zero where |v - trunc(v)| >= 0.5 (that difference is exact).
//
// What the ISA supplies (`V`, in the ISA file's own namespace, see tile_dispatch.h):
//   F, I, kFloats              float / int32 vectors of kFloats lanes
//   load, abs, max, max_lanes  |x| and the block's absolute maximum
//   round(v)                   int32 lanes of roundf(v) (v's lanes are at most 127.5 in size)
//   store(q[], qs)             the kQK int32 quants narrowed to bytes
//   sum(q[])                   their sum
#include <immintrin.h>

#include <cstdint>

#include "quant/blocks.h"

namespace orchard::cpu::legacy {

template <class V>
struct Q8Activations {
  static constexpr int kVectors = kQK / V::kFloats;

  // One block: writes the quants, returns d (f32) and the quants' sum.
  static float block(const float* src, int8_t* qs, int& sum) {
    typename V::F v[kVectors];
    typename V::F amax = V::abs(v[0] = V::load(src));
    for (int i = 1; i < kVectors; ++i) amax = V::max(amax, V::abs(v[i] = V::load(src + i * V::kFloats)));
    const float d = V::max_lanes(amax) / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    typename V::I q[kVectors];
    for (int i = 0; i < kVectors; ++i) q[i] = V::round(V::mul(v[i], id));
    V::store(q, qs);
    sum = V::sum(q);
    return d;
  }

  static void q8_0(const float* src, void* dst, int64_t n) {
    auto* b = static_cast<BlockQ8_0*>(dst);
    for (int64_t i = 0; i < n / kQK; ++i, ++b, src += kQK) {
      int sum;
      b->d = _cvtss_sh(block(src, b->qs, sum), _MM_FROUND_TO_NEAREST_INT);
    }
  }

  static void q8_1(const float* src, void* dst, int64_t n) {
    auto* b = static_cast<BlockQ8_1*>(dst);
    for (int64_t i = 0; i < n / kQK; ++i, ++b, src += kQK) {
      int sum;
      const float d = block(src, b->qs, sum);
      b->d = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
      b->s = _cvtss_sh(static_cast<float>(sum) * d, _MM_FROUND_TO_NEAREST_INT);
    }
  }
};

}  // namespace orchard::cpu::legacy
