// Codecs for the 256-element k-quant super-blocks (q2_K .. q6_K), following the layouts in
// blocks.h. Each super-block has one f16 scale (and min) that multiplies small per-group
// integer scales; the element order inside the block matches ggml's dequantize_row_*_K.
// The encoders repeat the arithmetic of ggml's quantize_row_*_K_ref operation for operation
// (what llama-quantize writes without an importance matrix), so our files match bit for bit.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "quant/blocks.h"
#include "quant/codecs.h"
#include "quant/k_scales.h"
#include "quant/quant.h"

namespace orchard::codecs {

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
    uint8_t sc[8], m[8];
    unpack_k4_scales(b->scales, sc, m);
    for (int group = 0; group < 8; group += 2, q += 32) {
      const float d1 = d * static_cast<float>(sc[group]), m1 = dmin * static_cast<float>(m[group]);
      const float d2 = d * static_cast<float>(sc[group + 1]), m2 = dmin * static_cast<float>(m[group + 1]);
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
    uint8_t sc[8], m[8];
    unpack_k4_scales(b->scales, sc, m);
    for (int group = 0; group < 8; group += 2, q += 32, u1 <<= 2, u2 <<= 2) {
      const float d1 = d * static_cast<float>(sc[group]), m1 = dmin * static_cast<float>(m[group]);
      const float d2 = d * static_cast<float>(sc[group + 1]), m2 = dmin * static_cast<float>(m[group + 1]);
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


// ---- encoders ----

namespace {

// Groups whose largest magnitude is below this are stored as zeros (ggml's GROUP_MAX_EPS).
constexpr float kGroupMaxEps = 1e-15f;

// ggml's nearest_int: adding 1.5 * 2^23 leaves round-half-even(v) in the low mantissa bits.
// Exact for |v| < 2^22; outside that range it still returns what ggml returns.
int nearest_int(float v) {
  const float shifted = v + 12582912.0f;
  int32_t bits;
  std::memcpy(&bits, &shifted, 4);
  return (bits & 0x007fffff) - 0x00400000;
}

// ggml's make_qkx2_quants: fits x ~ scale * L - min with L in [0, nmax] (min >= 0 returned in
// `min_out`), minimizing the weighted error (absolute with use_mad, else squared) over a grid of
// nstep + 1 candidate inverse scales, each refined by the weighted least-squares (scale, min).
float fit_scale_min(int n, int nmax, const float* x, const float* w, uint8_t* L, float& min_out, float rmin,
                    float rdelta, int nstep, bool use_mad) {
  float min = x[0], max = x[0];
  float sum_w = w[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    std::fill(L, L + n, 0);
    min_out = -min;
    return 0.0f;
  }
  auto error_of = [&](float scale, float offset, const uint8_t* q) {
    float err = 0;
    for (int i = 0; i < n; ++i) {
      float diff = scale * static_cast<float>(q[i]) + offset - x[i];
      diff = use_mad ? std::fabs(diff) : diff * diff;
      err += w[i] * diff;
    }
    return err;
  };
  float iscale = static_cast<float>(nmax) / (max - min);
  float scale = 1 / iscale;
  for (int i = 0; i < n; ++i) L[i] = static_cast<uint8_t>(std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax));
  // As in ggml, a better fit replaces `min`, and later candidates are measured from it.
  float best_error = error_of(scale, min, L);
  uint8_t Laux[32];
  for (int step = 0; step <= nstep; ++step) {
    iscale = (rmin + rdelta * static_cast<float>(step) + static_cast<float>(nmax)) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
      Laux[i] = static_cast<uint8_t>(l);
      const float wl = w[i] * static_cast<float>(l);
      sum_l += wl;
      sum_l2 += wl * static_cast<float>(l);
      sum_xl += wl * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      const float err = error_of(this_scale, this_min, Laux);
      if (err < best_error) {
        std::copy(Laux, Laux + n, L);
        best_error = err;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  min_out = -min;
  return scale;
}

// ggml's make_qx_quants with rmse_type 1 and no importance weights (weights x^2): symmetric
// quants L - nmax in [-nmax, nmax - 1], the sign of the scale set by the extreme value, best
// of 19 candidate scales around nmax / max by the weighted least-squares criterion.
float fit_symmetric_scale(int n, int nmax, const float* x, int8_t* L) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    std::fill(L, L + n, 0);
    return 0.0f;
  }
  auto quant = [&](float iscale, int i) { return std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1); };
  auto sums = [&](float iscale, float& sumlx, float& suml2) {
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const float l = static_cast<float>(quant(iscale, i));
      const float w = x[i] * x[i];
      sumlx += w * x[i] * l;
      suml2 += w * l * l;
    }
  };
  float iscale = static_cast<float>(-nmax) / max;
  float sumlx, suml2;
  sums(iscale, sumlx, suml2);
  for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(quant(iscale, i) + nmax);
  float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int step = -9; step <= 9; ++step) {
    if (step == 0) continue;
    iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(step)) / max;
    sums(iscale, sumlx, suml2);
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(quant(iscale, i) + nmax);
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// ggml's make_q3_quants with do_rmse: symmetric quants L - nmax in [-nmax, nmax - 1] at the
// inverse scale -nmax / max, then up to 5 rounds moving single quants where that improves the
// weighted (w = x^2) least-squares fit; returns its scale.
float fit_q3_scale(int n, int nmax, const float* x, int8_t* L) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    std::fill(L, L + n, 0);
    return 0.0f;
  }
  const float iscale = static_cast<float>(-nmax) / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
    L[i] = static_cast<int8_t>(l);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * static_cast<float>(l);
    suml2 += w * static_cast<float>(l) * static_cast<float>(l);
  }
  for (int round = 0; round < 5; ++round) {
    int changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i];
      float slx = sumlx - w * x[i] * static_cast<float>(L[i]);
      if (slx > 0) {
        float sl2 = suml2 - w * static_cast<float>(L[i]) * static_cast<float>(L[i]);
        const int new_l = std::clamp(nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
        if (new_l != L[i]) {
          slx += w * x[i] * static_cast<float>(new_l);
          sl2 += w * static_cast<float>(new_l) * static_cast<float>(new_l);
          if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
            L[i] = static_cast<int8_t>(new_l);
            sumlx = slx;
            suml2 = sl2;
            ++changed;
          }
        }
      }
    }
    if (!changed) break;
  }
  for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(L[i] + nmax);
  return suml2 > 0 ? sumlx / suml2 : 0.0f;
}

// q2_K / q3_K store 2 bits of each quant: element 128h + 32s + l at bits 2s of qs[32h + l].
void pack_2bit(const uint8_t* L, uint8_t* qs) {
  for (int j = 0; j < kQK_K; j += 128)
    for (int l = 0; l < 32; ++l)
      qs[j / 4 + l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
}

// q4_K / q5_K: per 32-element group a (scale, min) fit with weights rms(group) + |x|, both
// quantized to 6 bits against the super-block's largest, then every element re-quantized
// against the stored (f16-rounded) scales. Fills b.d, b.dmin, b.scales and L[256].
template <typename Block>
void fit_k4_superblock(const float* x, int nmax, float rmin, float rdelta, int nstep, Block& b, uint8_t* L) {
  float scales[8], mins[8];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    const float* xg = x + 32 * j;
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += xg[l] * xg[l];
    const float av_x = std::sqrt(sum_x2 / 32);
    float weights[32];
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(xg[l]);
    scales[j] = fit_scale_min(32, nmax, xg, weights, L + 32 * j, mins[j], rmin, rdelta, nstep, false);
    max_scale = std::max(max_scale, scales[j]);
    max_min = std::max(max_min, mins[j]);
  }
  const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
  const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
  for (int j = 0; j < 8; ++j) {
    // ggml stores nearest_int in a uint8_t before clamping: keep that truncation.
    const uint8_t ls = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_scale * scales[j])));
    const uint8_t lm = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_min * mins[j])));
    if (j < 4) {
      b.scales[j] = ls;
      b.scales[j + 4] = lm;
    } else {
      b.scales[j + 4] = static_cast<uint8_t>((ls & 0x0f) | ((lm & 0x0f) << 4));
      b.scales[j - 4] |= static_cast<uint8_t>((ls >> 4) << 6);
      b.scales[j] |= static_cast<uint8_t>((lm >> 4) << 6);
    }
  }
  b.d = f32_to_f16(max_scale / 63.0f);
  b.dmin = f32_to_f16(max_min / 63.0f);
  uint8_t sc[8], m[8];
  unpack_k4_scales(b.scales, sc, m);
  for (int j = 0; j < 8; ++j) {
    const float d = f16_to_f32(b.d) * static_cast<float>(sc[j]);
    if (d == 0) continue;  // keeps the group's first-pass quants, as ggml does
    const float dm = f16_to_f32(b.dmin) * static_cast<float>(m[j]);
    for (int l = 0; l < 32; ++l) L[32 * j + l] = static_cast<uint8_t>(std::clamp(nearest_int((x[32 * j + l] + dm) / d), 0, nmax));
  }
}

}  // namespace

void encode_q4_k(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ4_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, ++b, src += kQK_K) {
    uint8_t L[kQK_K];
    fit_k4_superblock(src, 15, -1.0f, 0.1f, 20, *b, L);
    // Each 64 elements share 32 bytes: the first 32 in the low nibbles, the next 32 in the high.
    for (int j = 0; j < kQK_K; j += 64)
      for (int l = 0; l < 32; ++l) b->qs[j / 2 + l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 4));
  }
}

void encode_q5_k(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ5_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, ++b, src += kQK_K) {
    uint8_t L[kQK_K];
    fit_k4_superblock(src, 31, -0.5f, 0.1f, 15, *b, L);
    // As q4_K's nibbles, plus the fifth bit of element 64c + l at bit 2c (and 64c + 32 + l at
    // bit 2c + 1) of qh[l].
    std::memset(b->qh, 0, sizeof(b->qh));
    for (int j = 0, c = 0; j < kQK_K; j += 64, ++c) {
      for (int l = 0; l < 32; ++l) {
        const int lo = L[j + l], hi = L[j + l + 32];
        b->qh[l] |= static_cast<uint8_t>(((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
        b->qs[j / 2 + l] = static_cast<uint8_t>((lo & 0x0f) | ((hi & 0x0f) << 4));
      }
    }
  }
}

void encode_q6_k(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ6_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, ++b, src += kQK_K) {
    int8_t L[kQK_K];
    float scales[16];
    float max_scale = 0, max_abs_scale = 0;
    for (int g = 0; g < 16; ++g) {
      scales[g] = fit_symmetric_scale(16, 32, src + 16 * g, L + 16 * g);
      if (std::fabs(scales[g]) > max_abs_scale) {
        max_abs_scale = std::fabs(scales[g]);
        max_scale = scales[g];
      }
    }
    if (max_abs_scale < kGroupMaxEps) {
      std::memset(b, 0, sizeof(*b));
      continue;
    }
    const float iscale = -128.0f / max_scale;
    b->d = f32_to_f16(1 / iscale);
    for (int g = 0; g < 16; ++g) b->scales[g] = static_cast<int8_t>(std::min(127, nearest_int(iscale * scales[g])));
    for (int g = 0; g < 16; ++g) {
      const float d = f16_to_f32(b->d) * static_cast<float>(b->scales[g]);
      if (d == 0) continue;
      for (int l = 0; l < 16; ++l)
        L[16 * g + l] = static_cast<int8_t>(std::clamp(nearest_int(src[16 * g + l] / d), -32, 31) + 32);
    }
    // Per 128 elements: low nibbles of l and l+64 share ql[l], of l+32 and l+96 share ql[l+32];
    // the four top 2-bit pairs go to qh[l].
    for (int j = 0; j < kQK_K; j += 128) {
      uint8_t* ql = b->ql + j / 2;
      uint8_t* qh = b->qh + j / 4;
      for (int l = 0; l < 32; ++l) {
        const int q1 = L[j + l], q2 = L[j + l + 32], q3 = L[j + l + 64], q4 = L[j + l + 96];
        ql[l] = static_cast<uint8_t>((q1 & 0x0f) | ((q3 & 0x0f) << 4));
        ql[l + 32] = static_cast<uint8_t>((q2 & 0x0f) | ((q4 & 0x0f) << 4));
        qh[l] = static_cast<uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
      }
    }
  }
}


void encode_q2_k(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ2_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, ++b, src += kQK_K) {
    uint8_t L[kQK_K];
    float scales[16], mins[16];
    float max_scale = 0, max_min = 0;
    for (int g = 0; g < 16; ++g) {
      float weights[16];
      for (int l = 0; l < 16; ++l) weights[l] = std::fabs(src[16 * g + l]);
      scales[g] = fit_scale_min(16, 3, src + 16 * g, weights, L + 16 * g, mins[g], -0.5f, 0.1f, 15, true);
      max_scale = std::max(max_scale, scales[g]);
      max_min = std::max(max_min, mins[g]);
    }
    // Per 16 elements a 4-bit scale (low nibble) and min (high nibble) against the block's largest.
    if (max_scale > 0) {
      const float iscale = 15.0f / max_scale;
      for (int g = 0; g < 16; ++g) b->scales[g] = static_cast<uint8_t>(nearest_int(iscale * scales[g]));
      b->d = f32_to_f16(max_scale / 15.0f);
    } else {
      std::memset(b->scales, 0, sizeof(b->scales));
      b->d = f32_to_f16(0.0f);
    }
    if (max_min > 0) {
      const float iscale = 15.0f / max_min;
      for (int g = 0; g < 16; ++g) b->scales[g] |= static_cast<uint8_t>(nearest_int(iscale * mins[g]) << 4);
      b->dmin = f32_to_f16(max_min / 15.0f);
    } else {
      b->dmin = f32_to_f16(0.0f);
    }
    for (int g = 0; g < 16; ++g) {
      const float d = f16_to_f32(b->d) * static_cast<float>(b->scales[g] & 0x0f);
      if (d == 0) continue;
      const float dm = f16_to_f32(b->dmin) * static_cast<float>(b->scales[g] >> 4);
      for (int l = 0; l < 16; ++l) L[16 * g + l] = static_cast<uint8_t>(std::clamp(nearest_int((src[16 * g + l] + dm) / d), 0, 3));
    }
    pack_2bit(L, b->qs);
  }
}

void encode_q3_k(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ3_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, ++b, src += kQK_K) {
    int8_t L[kQK_K];
    float scales[16];
    float max_scale = 0, amax = 0;
    for (int g = 0; g < 16; ++g) {
      scales[g] = fit_q3_scale(16, 4, src + 16 * g, L + 16 * g);
      if (std::fabs(scales[g]) > amax) {
        amax = std::fabs(scales[g]);
        max_scale = scales[g];
      }
    }
    std::memset(b->scales, 0, sizeof(b->scales));
    if (max_scale != 0) {
      const float iscale = -32.0f / max_scale;
      for (int g = 0; g < 16; ++g) {
        // ggml keeps nearest_int in an int8_t before clamping: keep that truncation.
        const int l = std::clamp<int>(static_cast<int8_t>(nearest_int(iscale * scales[g])), -32, 31) + 32;
        if (g < 8) b->scales[g] = static_cast<uint8_t>(l & 0x0f);
        else b->scales[g - 8] |= static_cast<uint8_t>((l & 0x0f) << 4);
        b->scales[8 + g % 4] |= static_cast<uint8_t>((l >> 4) << (2 * (g / 4)));
      }
      b->d = f32_to_f16(1 / iscale);
    } else {
      b->d = f32_to_f16(0.0f);
    }
    int8_t stored[16];
    unpack_q3_k_scales(b->scales, stored);
    for (int g = 0; g < 16; ++g) {
      const float d = f16_to_f32(b->d) * static_cast<float>(stored[g]);
      if (d == 0) continue;
      for (int l = 0; l < 16; ++l) L[16 * g + l] = static_cast<int8_t>(std::clamp(nearest_int(src[16 * g + l] / d), -4, 3) + 4);
    }
    // The third bit of element j goes to bit j / 32 of hmask[j % 32]; the low two as q2_K's.
    std::memset(b->hmask, 0, sizeof(b->hmask));
    uint8_t low[kQK_K];
    for (int j = 0; j < kQK_K; ++j) {
      const int q = L[j];
      if (q > 3) b->hmask[j % 32] |= static_cast<uint8_t>(1 << (j / 32));
      low[j] = static_cast<uint8_t>(q > 3 ? q - 4 : q);
    }
    pack_2bit(low, b->qs);
  }
}

}  // namespace orchard::codecs
