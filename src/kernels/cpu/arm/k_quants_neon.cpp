// NEON dotprod tiles for the k-quants (q2_K .. q6_K) against q8_K activations. Per 256-element
// super-block and (row, token), as the reference dot (quant/dot_reference.cpp):
//   d_x * (d * sum_g scale_g sum_{i in g} q_i x_i  -  dmin * sum_g min_g bsum_g)
// over the 16 groups of 16 elements. Every format's quants fit a signed byte once their offset
// is taken off (q3_K: 4, q6_K: 32), so each group is one vdotq_s32 of 16 bytes, scaled in the
// integers by vmlaq_n_s32; the min term (q2_K, q4_K, q5_K) comes from q8_K's group sums.
// Only the unpacking differs per format; each row's scales are unpacked once per super-block
// and used for every token of the tile.
#include <arm_neon.h>

#include "kernels/cpu/arm/neon_blocks.h"
#include "kernels/cpu/arm/tile_sets.h"
#include "kernels/cpu/x86/tile_dispatch.h"
#include "quant/k_scales.h"

// Own namespace: see tile_dispatch.h on why ISA files must not share symbol names.
namespace orchard::cpu::kquant_neon {
namespace {

using arm::f16_value;
using arm::Quants;

// One row's super-block, unpacked: per group of 16 its scale and min, and d, dmin.
struct Scales {
  int32_t scale[16];
  int16_t min[16];
  float d, dmin;
};

// Bits [shift, shift + width) of each of 32 bytes (two vectors from p), as unsigned bytes.
inline uint8x16x2_t field(const uint8_t* p, int shift, int width) {
  const int8x16_t right = vdupq_n_s8(static_cast<int8_t>(-shift));
  const uint8x16_t mask = vdupq_n_u8(static_cast<uint8_t>((1 << width) - 1));
  return {{vandq_u8(vshlq_u8(vld1q_u8(p), right), mask), vandq_u8(vshlq_u8(vld1q_u8(p + 16), right), mask)}};
}
inline uint8x16x2_t with_high(uint8x16x2_t low, uint8x16x2_t high, int shift) {
  const int8x16_t left = vdupq_n_s8(static_cast<int8_t>(shift));
  return {{vorrq_u8(low.val[0], vshlq_u8(high.val[0], left)), vorrq_u8(low.val[1], vshlq_u8(high.val[1], left))}};
}
inline Quants minus(uint8x16x2_t q, int8_t offset) {
  return {vsubq_s8(vreinterpretq_s8_u8(q.val[0]), vdupq_n_s8(offset)),
          vsubq_s8(vreinterpretq_s8_u8(q.val[1]), vdupq_n_s8(offset))};
}

// q4_K / q5_K: one scale and min per 32 elements, i.e. per two groups.
template <class Block>
void k4_scales(const Block& b, Scales& s) {
  uint8_t scales[8], mins[8];
  unpack_k4_scales(b.scales, scales, mins);
  for (int g = 0; g < 16; ++g) {
    s.scale[g] = scales[g / 2];
    s.min[g] = mins[g / 2];
  }
  s.d = f16_value(b.d);
  s.dmin = f16_value(b.dmin);
}

// Each format: Block, kMin, prepare(block, Scales&) and quants(block, k): the signed quants of
// elements 32k .. 32k + 31 in order.
struct Q2K {
  using Block = BlockQ2_K;
  static constexpr bool kMin = true;
  static void prepare(const Block& b, Scales& s) {
    for (int g = 0; g < 16; ++g) {
      s.scale[g] = b.scales[g] & 0x0f;
      s.min[g] = static_cast<int16_t>(b.scales[g] >> 4);
    }
    s.d = f16_value(b.d);
    s.dmin = f16_value(b.dmin);
  }
  // Element 128h + 32j + l: bits 2j of qs[32h + l].
  static Quants quants(const Block& b, int k) { return minus(field(b.qs + 32 * (k / 4), 2 * (k % 4), 2), 0); }
};

struct Q3K {
  using Block = BlockQ3_K;
  static constexpr bool kMin = false;
  static void prepare(const Block& b, Scales& s) {
    int8_t scales[16];
    unpack_q3_k_scales(b.scales, scales);
    for (int g = 0; g < 16; ++g) {
      s.scale[g] = scales[g];
      s.min[g] = 0;
    }
    s.d = f16_value(b.d);
    s.dmin = 0.0f;
  }
  // q2_K's two bits, plus 4 where bit k of hmask[l] is set, less 4.
  static Quants quants(const Block& b, int k) {
    return minus(with_high(field(b.qs + 32 * (k / 4), 2 * (k % 4), 2), field(b.hmask, k, 1), 2), 4);
  }
};

struct Q4K {
  using Block = BlockQ4_K;
  static constexpr bool kMin = true;
  static void prepare(const Block& b, Scales& s) { k4_scales(b, s); }
  // 64 elements per 32 bytes: the first 32 in the low nibbles.
  static Quants quants(const Block& b, int k) { return minus(field(b.qs + 32 * (k / 2), 4 * (k % 2), 4), 0); }
};

struct Q5K {
  using Block = BlockQ5_K;
  static constexpr bool kMin = true;
  static void prepare(const Block& b, Scales& s) { k4_scales(b, s); }
  // q4_K's nibbles plus bit k of qh[l] as the fifth bit.
  static Quants quants(const Block& b, int k) {
    return minus(with_high(field(b.qs + 32 * (k / 2), 4 * (k % 2), 4), field(b.qh, k, 1), 4), 0);
  }
};

struct Q6K {
  using Block = BlockQ6_K;
  static constexpr bool kMin = false;
  static void prepare(const Block& b, Scales& s) {
    for (int g = 0; g < 16; ++g) {
      s.scale[g] = b.scales[g];
      s.min[g] = 0;
    }
    s.d = f16_value(b.d);
    s.dmin = 0.0f;
  }
  // Element 128h + 32j + l: nibble j / 2 of ql[64h + 32(j % 2) + l], top two bits at bits 2j
  // of qh[32h + l]; stored + 32.
  static Quants quants(const Block& b, int k) {
    const int h = k / 4, j = k % 4;
    return minus(with_high(field(b.ql + 64 * h + 32 * (j % 2), 4 * (j / 2), 4), field(b.qh + 32 * h, 2 * j, 2), 4), 32);
  }
};

template <class F>
struct KQuantTile {
  using Block = typename F::Block;

  template <int R, int T>
  struct Of {
    static void run(const MatmulTile& t) {
      float32x4_t acc[R][T];
      float min_acc[R][T] = {};  // the min terms, summed as scalars
      for (auto& row : acc)
        for (auto& a : row) a = vdupq_n_f32(0.0f);
      const BlockQ8_K* x[T];
      for (int j = 0; j < T; ++j)
        x[j] = reinterpret_cast<const BlockQ8_K*>(static_cast<const uint8_t*>(t.x) + j * t.x_stride);
      const int64_t blocks = t.k / kQK_K;
      for (int64_t b = 0; b < blocks; ++b) {
        for (int r = 0; r < R; ++r) {
          const Block& w = reinterpret_cast<const Block*>(t.w + r * t.w_stride)[b];
          Scales s;
          F::prepare(w, s);
          int32x4_t isum[T];
          for (auto& v : isum) v = vdupq_n_s32(0);
#pragma GCC unroll 8
          for (int k = 0; k < 8; ++k) {
            const Quants q = F::quants(w, k);
            for (int j = 0; j < T; ++j) {
              const int8_t* xq = x[j][b].qs + 32 * k;
              isum[j] = vmlaq_n_s32(isum[j], vdotq_s32(vdupq_n_s32(0), q.lo, vld1q_s8(xq)), s.scale[2 * k]);
              isum[j] = vmlaq_n_s32(isum[j], vdotq_s32(vdupq_n_s32(0), q.hi, vld1q_s8(xq + 16)), s.scale[2 * k + 1]);
            }
          }
          for (int j = 0; j < T; ++j) {
            const float dx = x[j][b].d;
            acc[r][j] = vfmaq_n_f32(acc[r][j], vcvtq_f32_s32(isum[j]), s.d * dx);
            if constexpr (F::kMin) {
              const int16x8_t m0 = vld1q_s16(s.min), m1 = vld1q_s16(s.min + 8);
              const int16x8_t b0 = vld1q_s16(x[j][b].bsums), b1 = vld1q_s16(x[j][b].bsums + 8);
              int32x4_t corr = vmull_s16(vget_low_s16(m0), vget_low_s16(b0));
              corr = vmlal_high_s16(corr, m0, b0);
              corr = vmlal_s16(corr, vget_low_s16(m1), vget_low_s16(b1));
              corr = vmlal_high_s16(corr, m1, b1);
              min_acc[r][j] -= s.dmin * dx * static_cast<float>(vaddvq_s32(corr));
            }
          }
        }
      }
      for (int r = 0; r < R; ++r)
        for (int j = 0; j < T; ++j) t.y[j * t.y_stride + r] = vaddvq_f32(acc[r][j]) + min_acc[r][j];
    }
  };
};

}  // namespace
}  // namespace orchard::cpu::kquant_neon

namespace orchard::cpu {

void add_k_quant_tiles_neon(IsaKernels& k) {
  using namespace kquant_neon;
  k.set_tile(DType::Q2_K, dispatch_tile<KQuantTile<Q2K>::Of>);
  k.set_tile(DType::Q3_K, dispatch_tile<KQuantTile<Q3K>::Of>);
  k.set_tile(DType::Q4_K, dispatch_tile<KQuantTile<Q4K>::Of>);
  k.set_tile(DType::Q5_K, dispatch_tile<KQuantTile<Q5K>::Of>);
  k.set_tile(DType::Q6_K, dispatch_tile<KQuantTile<Q6K>::Of>);
}

}  // namespace orchard::cpu
