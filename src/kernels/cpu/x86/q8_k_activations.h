#pragma once
// The fast q8_K activation quantizer shared by the AVX2 and AVX-512 files. It must give the
// reference encoder's bytes exactly (quant/activation_quants.cpp encode_q8_k), so it does the
// same float arithmetic: the first element of largest magnitude is `max` (with its sign),
// iscale = -127 / max (a division), q = min(127, round-half-even(iscale * x)), d = 1 / iscale,
// bsums the sums of each 16 quants; an all-zero block is all zero bytes.
//
// What the ISA supplies (`V`, in the ISA file's own namespace, see tile_dispatch.h):
//   F, I, kFloats      float / int32 vectors of kFloats lanes (16 / kFloats vectors per group)
//   load, abs, max, max_lanes, mul(v, s)
//   first_equal(v, a)  the first lane of v equal to a, or -1
//   round(v)           int32 lanes of round-half-even(v) clamped above to 127
//   store16(q[], qs)   16 int32 quants narrowed to bytes; returns their sum
#include <cstdint>
#include <cstring>

#include "quant/blocks.h"

namespace orchard::cpu::kquant {

template <class V>
struct Q8KActivations {
  static constexpr int kVectors = kQK_K / V::kFloats, kPerGroup = 16 / V::kFloats;

  static void quantize(const float* src, void* dst, int64_t n) {
    auto* b = static_cast<BlockQ8_K*>(dst);
    for (int64_t i = 0; i < n / kQK_K; ++i, ++b, src += kQK_K) {
      typename V::F amax = V::abs(V::load(src));
      for (int v = 1; v < kVectors; ++v) amax = V::max(amax, V::abs(V::load(src + v * V::kFloats)));
      const float a = V::max_lanes(amax);
      if (a == 0.0f) {
        std::memset(b, 0, sizeof(*b));
        continue;
      }
      float max = 0.0f;
      for (int v = 0; v < kVectors; ++v) {
        const int lane = V::first_equal(V::abs(V::load(src + v * V::kFloats)), a);
        if (lane >= 0) {
          max = src[v * V::kFloats + lane];
          break;
        }
      }
      const float iscale = -127.0f / max;
      for (int g = 0; g < kQK_K / 16; ++g) {
        typename V::I q[kPerGroup];
        for (int v = 0; v < kPerGroup; ++v) q[v] = V::round(V::mul(V::load(src + 16 * g + v * V::kFloats), iscale));
        b->bsums[g] = static_cast<int16_t>(V::store16(q, b->qs + 16 * g));
      }
      b->d = 1.0f / iscale;
    }
  }
};

}  // namespace orchard::cpu::kquant
