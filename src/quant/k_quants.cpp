// Decoders for the 256-element k-quant super-blocks (q2_K .. q6_K), following the layouts in
// blocks.h. Each super-block has one f16 scale (and min) that multiplies small per-group
// integer scales; the element order inside the block matches ggml's dequantize_row_*_K.
#include <cstring>

#include "quant/blocks.h"
#include "quant/codecs.h"
#include "quant/quant.h"

namespace orchard::codecs {
namespace {

// q4_K / q5_K pack 8 six-bit scales and 8 six-bit mins into 12 bytes: groups 0-3 use the low
// six bits of bytes 0-7; groups 4-7 take four bits from bytes 8-11 and their top two bits
// from the spare bits of bytes 0-7.
void scale_min_k4(int group, const uint8_t* q, int& scale, int& min) {
  if (group < 4) {
    scale = q[group] & 63;
    min = q[group + 4] & 63;
  } else {
    scale = (q[group + 4] & 0x0f) | ((q[group - 4] >> 6) << 4);
    min = (q[group + 4] >> 4) | ((q[group] >> 6) << 4);
  }
}

// q3_K packs 16 six-bit scales (stored with a +32 bias) into 12 bytes: low nibbles in bytes
// 0-7, high two bits in bytes 8-11.
void unpack_q3_k_scales(const uint8_t* packed, int8_t out[16]) {
  for (int i = 0; i < 16; ++i) {
    const int low = i < 8 ? packed[i] & 0x0f : packed[i - 8] >> 4;
    const int high = (packed[8 + i % 4] >> (2 * (i / 4))) & 3;
    out[i] = static_cast<int8_t>((low | (high << 4)) - 32);
  }
}

}  // namespace

void decode_q2_k(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ2_K*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i, ++b) {
    const float d = f16_to_f32(b->d), dmin = f16_to_f32(b->dmin);
    const uint8_t* q = b->qs;
    int group = 0;
    for (int half = 0; half < 2; ++half, q += 32) {
      for (int shift = 0; shift < 8; shift += 2) {
        for (int part = 0; part < 2; ++part, ++group) {
          const float dl = d * static_cast<float>(b->scales[group] & 0x0f);
          const float ml = dmin * static_cast<float>(b->scales[group] >> 4);
          for (int l = 0; l < 16; ++l) *dst++ = dl * static_cast<float>((q[part * 16 + l] >> shift) & 3) - ml;
        }
      }
    }
  }
}

void decode_q3_k(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ3_K*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i, ++b) {
    const float d = f16_to_f32(b->d);
    int8_t scales[16];
    unpack_q3_k_scales(b->scales, scales);
    const uint8_t* q = b->qs;
    int group = 0;
    uint8_t high_bit = 1;
    for (int half = 0; half < 2; ++half, q += 32) {
      for (int shift = 0; shift < 8; shift += 2, high_bit <<= 1) {
        for (int part = 0; part < 2; ++part, ++group) {
          const float dl = d * static_cast<float>(scales[group]);
          for (int l = 0; l < 16; ++l) {
            const int idx = part * 16 + l;
            const int v = ((q[idx] >> shift) & 3) - ((b->hmask[idx] & high_bit) ? 0 : 4);
            *dst++ = dl * static_cast<float>(v);
          }
        }
      }
    }
  }
}

void decode_q4_k(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ4_K*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i, ++b) {
    const float d = f16_to_f32(b->d), dmin = f16_to_f32(b->dmin);
    const uint8_t* q = b->qs;
    for (int group = 0; group < 8; group += 2, q += 32) {
      int sc, m;
      scale_min_k4(group, b->scales, sc, m);
      const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
      scale_min_k4(group + 1, b->scales, sc, m);
      const float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(m);
      for (int l = 0; l < 32; ++l) *dst++ = d1 * static_cast<float>(q[l] & 0x0f) - m1;
      for (int l = 0; l < 32; ++l) *dst++ = d2 * static_cast<float>(q[l] >> 4) - m2;
    }
  }
}

void decode_q5_k(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ5_K*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i, ++b) {
    const float d = f16_to_f32(b->d), dmin = f16_to_f32(b->dmin);
    const uint8_t* q = b->qs;
    uint8_t u1 = 1, u2 = 2;  // qh bit of the low / high nibble group
    for (int group = 0; group < 8; group += 2, q += 32, u1 <<= 2, u2 <<= 2) {
      int sc, m;
      scale_min_k4(group, b->scales, sc, m);
      const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
      scale_min_k4(group + 1, b->scales, sc, m);
      const float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(m);
      for (int l = 0; l < 32; ++l)
        *dst++ = d1 * static_cast<float>((q[l] & 0x0f) + ((b->qh[l] & u1) ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l)
        *dst++ = d2 * static_cast<float>((q[l] >> 4) + ((b->qh[l] & u2) ? 16 : 0)) - m2;
    }
  }
}

void decode_q6_k(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ6_K*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i, ++b) {
    const float d = f16_to_f32(b->d);
    const uint8_t* ql = b->ql;
    const uint8_t* qh = b->qh;
    const int8_t* sc = b->scales;
    for (int half = 0; half < 2; ++half, ql += 64, qh += 32, sc += 8, dst += 128) {
      for (int l = 0; l < 32; ++l) {
        const int g = l / 16;
        const int q1 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        dst[l] = d * static_cast<float>(sc[g]) * static_cast<float>(q1);
        dst[l + 32] = d * static_cast<float>(sc[g + 2]) * static_cast<float>(q2);
        dst[l + 64] = d * static_cast<float>(sc[g + 4]) * static_cast<float>(q3);
        dst[l + 96] = d * static_cast<float>(sc[g + 6]) * static_cast<float>(q4);
      }
    }
  }
}

}  // namespace orchard::codecs
