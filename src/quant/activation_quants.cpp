// Activation formats (q8_1, q8_K): what matmuls quantize activations to before the integer dot
// products against q4_1/q5_1 and the k-quants. Same arithmetic as ggml's quantize_row_q8_1_ref
// and quantize_row_q8_K_ref, so dot products match llama.cpp's.
#include <cmath>
#include <cstring>

#include "quant/blocks.h"
#include "quant/codecs.h"
#include "quant/quant.h"

namespace orchard::codecs {

void encode_q8_1(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_1*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, ++b, src += kQK) {
    float amax = 0.0f;
    for (int j = 0; j < kQK; ++j) amax = std::fmax(amax, std::fabs(src[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    int sum = 0;
    for (int j = 0; j < kQK; ++j) {
      b->qs[j] = static_cast<int8_t>(std::round(src[j] * id));  // half away from zero, as roundf
      sum += b->qs[j];
    }
    b->d = f32_to_f16(d);
    b->s = f32_to_f16(static_cast<float>(sum) * d);
  }
}

void decode_q8_1(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ8_1*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, ++b, dst += kQK) {
    const float d = f16_to_f32(b->d);
    for (int j = 0; j < kQK; ++j) dst[j] = static_cast<float>(b->qs[j]) * d;
  }
}

void encode_q8_k(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, ++b, src += kQK_K) {
    float amax = 0.0f, max = 0.0f;  // max keeps its sign: the extreme value maps onto -127
    for (int j = 0; j < kQK_K; ++j) {
      if (std::fabs(src[j]) > amax) {
        amax = std::fabs(src[j]);
        max = src[j];
      }
    }
    if (amax == 0.0f) {
      std::memset(b, 0, sizeof(*b));
      continue;
    }
    const float iscale = -127.0f / max;
    for (int j = 0; j < kQK_K; ++j) {
      const int v = static_cast<int>(std::nearbyint(iscale * src[j]));  // ties to even, as ggml's nearest_int
      b->qs[j] = static_cast<int8_t>(v < 127 ? v : 127);
    }
    for (int g = 0; g < kQK_K / 16; ++g) {
      int sum = 0;
      for (int j = 0; j < 16; ++j) sum += b->qs[g * 16 + j];
      b->bsums[g] = static_cast<int16_t>(sum);
    }
    b->d = 1.0f / iscale;
  }
}

void decode_q8_k(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ8_K*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i, ++b, dst += kQK_K)
    for (int j = 0; j < kQK_K; ++j) dst[j] = b->d * static_cast<float>(b->qs[j]);
}

}  // namespace orchard::codecs
