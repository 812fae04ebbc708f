// The 32-element block formats (q4_0, q4_1, q5_0, q5_1, q8_0, iq4_nl): decode, and encode with the
// same arithmetic as ggml's quantize_row_*_ref, so files we write match llama.cpp's bit for bit.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "quant/blocks.h"
#include "quant/codecs.h"
#include "quant/quant.h"

namespace orchard::codecs {
namespace {

// Value of largest magnitude in a block (its sign sets the sign of the scale, so the extreme
// value maps exactly onto the most negative quant).
float signed_absmax(const float* x) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < kQK; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

void min_max(const float* x, float& min, float& max) {
  min = x[0];
  max = x[0];
  for (int j = 1; j < kQK; ++j) {
    if (x[j] < min) min = x[j];
    if (x[j] > max) max = x[j];
  }
}

// ggml converts with a C cast, i.e. truncation toward zero of (x + offset + 0.5).
inline int truncate_to_int(float v) { return static_cast<int>(v); }

uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

}  // namespace

void decode_q4_0(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ4_0*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, ++b, dst += kQK) {
    const float d = f16_to_f32(b->d);
    for (int j = 0; j < kQK / 2; ++j) {
      dst[j] = static_cast<float>((b->qs[j] & 0x0f) - 8) * d;
      dst[j + kQK / 2] = static_cast<float>((b->qs[j] >> 4) - 8) * d;
    }
  }
}

void encode_q4_0(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ4_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, ++b, src += kQK) {
    const float d = signed_absmax(src) / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b->d = f32_to_f16(d);
    for (int j = 0; j < kQK / 2; ++j) {
      const int lo = std::min(15, truncate_to_int(src[j] * id + 8.5f));
      const int hi = std::min(15, truncate_to_int(src[j + kQK / 2] * id + 8.5f));
      b->qs[j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

void decode_q4_1(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ4_1*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, ++b, dst += kQK) {
    const float d = f16_to_f32(b->d), m = f16_to_f32(b->m);
    for (int j = 0; j < kQK / 2; ++j) {
      dst[j] = static_cast<float>(b->qs[j] & 0x0f) * d + m;
      dst[j + kQK / 2] = static_cast<float>(b->qs[j] >> 4) * d + m;
    }
  }
}

void encode_q4_1(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ4_1*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, ++b, src += kQK) {
    float min, max;
    min_max(src, min, max);
    const float d = (max - min) / 15.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b->d = f32_to_f16(d);
    b->m = f32_to_f16(min);
    for (int j = 0; j < kQK / 2; ++j) {
      const int lo = std::min(15, truncate_to_int((src[j] - min) * id + 0.5f));
      const int hi = std::min(15, truncate_to_int((src[j + kQK / 2] - min) * id + 0.5f));
      b->qs[j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

void decode_q5_0(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ5_0*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, ++b, dst += kQK) {
    const float d = f16_to_f32(b->d);
    const uint32_t qh = load_u32(b->qh);
    for (int j = 0; j < kQK / 2; ++j) {
      const int lo = (b->qs[j] & 0x0f) | (((qh >> j) & 1) << 4);
      const int hi = (b->qs[j] >> 4) | (((qh >> (j + kQK / 2)) & 1) << 4);
      dst[j] = static_cast<float>(lo - 16) * d;
      dst[j + kQK / 2] = static_cast<float>(hi - 16) * d;
    }
  }
}

void encode_q5_0(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ5_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, ++b, src += kQK) {
    const float d = signed_absmax(src) / -16.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b->d = f32_to_f16(d);
    uint32_t qh = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      const int lo = std::min(31, truncate_to_int(src[j] * id + 16.5f));
      const int hi = std::min(31, truncate_to_int(src[j + kQK / 2] * id + 16.5f));
      b->qs[j] = static_cast<uint8_t>((lo & 0x0f) | ((hi & 0x0f) << 4));
      qh |= static_cast<uint32_t>(lo >> 4) << j;
      qh |= static_cast<uint32_t>(hi >> 4) << (j + kQK / 2);
    }
    std::memcpy(b->qh, &qh, 4);
  }
}

void decode_q5_1(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ5_1*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, ++b, dst += kQK) {
    const float d = f16_to_f32(b->d), m = f16_to_f32(b->m);
    const uint32_t qh = load_u32(b->qh);
    for (int j = 0; j < kQK / 2; ++j) {
      const int lo = (b->qs[j] & 0x0f) | (((qh >> j) & 1) << 4);
      const int hi = (b->qs[j] >> 4) | (((qh >> (j + kQK / 2)) & 1) << 4);
      dst[j] = static_cast<float>(lo) * d + m;
      dst[j + kQK / 2] = static_cast<float>(hi) * d + m;
    }
  }
}

void encode_q5_1(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ5_1*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, ++b, src += kQK) {
    float min, max;
    min_max(src, min, max);
    const float d = (max - min) / 31.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b->d = f32_to_f16(d);
    b->m = f32_to_f16(min);
    uint32_t qh = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      // ggml does not clamp here; (max - min) * id rounds to at most 31.
      const int lo = truncate_to_int((src[j] - min) * id + 0.5f) & 0x1f;
      const int hi = truncate_to_int((src[j + kQK / 2] - min) * id + 0.5f) & 0x1f;
      b->qs[j] = static_cast<uint8_t>((lo & 0x0f) | ((hi & 0x0f) << 4));
      qh |= static_cast<uint32_t>(lo >> 4) << j;
      qh |= static_cast<uint32_t>(hi >> 4) << (j + kQK / 2);
    }
    std::memcpy(b->qh, &qh, 4);
  }
}

void decode_iq4_nl(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockIQ4_NL*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, ++b, dst += kQK) {
    const float d = f16_to_f32(b->d);
    for (int j = 0; j < kQK / 2; ++j) {
      dst[j] = d * static_cast<float>(kIQ4NLValues[b->qs[j] & 0x0f]);
      dst[j + kQK / 2] = d * static_cast<float>(kIQ4NLValues[b->qs[j] >> 4]);
    }
  }
}

namespace {

// ggml's best_index_int8: the code book entry nearest v (ties to the upper one).
int nearest_iq4nl_index(float v) {
  const int8_t* values = kIQ4NLValues;
  if (v <= values[0]) return 0;
  if (v >= values[15]) return 15;
  int lo = 0, hi = 15;  // values[lo] <= v < values[hi]
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    if (v < values[mid]) hi = mid;
    else lo = mid;
  }
  return v - values[hi - 1] < values[hi] - v ? hi - 1 : hi;
}

// Weighted (w = x^2) least-squares scale of x against the code book at inverse scale id:
// accumulates sum(w q x) and sum(w q^2) in ggml's order.
void iq4nl_sums(const float* x, float id, float& sumqx, float& sumq2) {
  sumqx = sumq2 = 0;
  for (int j = 0; j < kQK; ++j) {
    const float q = kIQ4NLValues[nearest_iq4nl_index(id * x[j])];
    const float w = x[j] * x[j];
    sumqx += w * q * x[j];
    sumq2 += w * q * q;
  }
}

}  // namespace

// As llama-quantize writes iq4_nl (ggml_quantize_chunk -> quantize_iq4_nl, no importance
// matrix): the least-squares scale at the extreme value / 127, then 15 candidate inverse scales
// (-127 + t) / max for t in -7..7, the best kept; quants re-chosen against the f16 scale.
// (ggml's quantize_row_iq4_nl_ref tries no candidates and skips the re-quantization.)
void encode_iq4_nl(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockIQ4_NL*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, ++b, src += kQK) {
    float amax = 0, max = 0;
    for (int j = 0; j < kQK; ++j) {
      if (std::fabs(src[j]) > amax) {
        amax = std::fabs(src[j]);
        max = src[j];
      }
    }
    float d = 0;
    if (amax >= 1e-15f) {  // ggml's GROUP_MAX_EPS
      float sumqx, sumq2;
      iq4nl_sums(src, 1 / (-max / kIQ4NLValues[0]), sumqx, sumq2);
      d = sumqx / sumq2;
      float best = d * sumqx;
      for (int t = -7; t <= 7; ++t) {
        iq4nl_sums(src, static_cast<float>(t + kIQ4NLValues[0]) / max, sumqx, sumq2);
        if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
          d = sumqx / sumq2;
          best = d * sumqx;
        }
      }
    }
    b->d = f32_to_f16(d);
    const float id = d != 0 ? 1 / d : 0.0f;
    for (int j = 0; j < kQK / 2; ++j)
      b->qs[j] = static_cast<uint8_t>(nearest_iq4nl_index(id * src[j]) | (nearest_iq4nl_index(id * src[j + kQK / 2]) << 4));
  }
}

void decode_q8_0(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ8_0*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, ++b, dst += kQK) {
    const float d = f16_to_f32(b->d);
    for (int j = 0; j < kQK; ++j) dst[j] = static_cast<float>(b->qs[j]) * d;
  }
}

void encode_q8_0(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, ++b, src += kQK) {
    float amax = 0.0f;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(src[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b->d = f32_to_f16(d);
    for (int j = 0; j < kQK; ++j) b->qs[j] = static_cast<int8_t>(std::round(src[j] * id));  // half away from zero
  }
}

}  // namespace orchard::codecs
