// NEON kernels with the int8 matrix multiply extension (ARMv8.6-A: Apple M2+, Graviton 3+).
// vmmlaq_s32 multiplies a 2x8 by an 8x2 int8 matrix into a 2x2 int32 tile, so one instruction
// serves two weight rows and two tokens: the tiles of every block format (neon_blocks.h)
// interleave rows and tokens in pairs, 8 bytes at a time. Decode (one token) would waste half of each product, so it keeps
// the dotprod tile; everything else is neon_kernels().
#include <arm_neon.h>

#include <algorithm>

#include "kernels/cpu/arm/neon_blocks.h"
#include "kernels/cpu/kernels.h"
#include "kernels/cpu/x86/tile_dispatch.h"

namespace orchard::cpu::i8mm {
namespace {

using namespace arm;

// Rows a and b interleaved 8 bytes at a time: four 2x8 operands covering the 32-element block.
struct Pairs {
  int8x16_t p[4];
};
inline Pairs interleave(const Quants& a, const Quants& b) {
  const auto zip1 = [](int8x16_t x, int8x16_t y) {
    return vreinterpretq_s8_s64(vzip1q_s64(vreinterpretq_s64_s8(x), vreinterpretq_s64_s8(y)));
  };
  const auto zip2 = [](int8x16_t x, int8x16_t y) {
    return vreinterpretq_s8_s64(vzip2q_s64(vreinterpretq_s64_s8(x), vreinterpretq_s64_s8(y)));
  };
  return {{zip1(a.lo, b.lo), zip2(a.lo, b.lo), zip1(a.hi, b.hi), zip2(a.hi, b.hi)}};
}

// The block formats of neon_blocks.h, per block d_w d_x sum q_w q_x (+ min_w d_x sum q_x).
template <class F>
struct QuantTile {
  using Act = typename F::Act;
  // R rows and T tokens are covered by pairs; an odd last row or token is paired with itself
  // and its duplicate result dropped.
  template <int R, int T>
  struct Of {
    static constexpr int RP = (R + 1) / 2, TP = (T + 1) / 2;

    static void run(const MatmulTile& t) {
      // acc[rp][tp] lanes: (row 2rp, token 2tp), (2rp, 2tp+1), (2rp+1, 2tp), (2rp+1, 2tp+1).
      float32x4_t acc[RP][TP];
      for (auto& row : acc)
        for (auto& a : row) a = vdupq_n_f32(0.0f);
      const uint8_t* w[R];
      const Act* x[T];
      for (int r = 0; r < R; ++r) w[r] = t.w + r * t.w_stride;
      for (int j = 0; j < T; ++j) x[j] = reinterpret_cast<const Act*>(static_cast<const uint8_t*>(t.x) + j * t.x_stride);
      const int64_t blocks = t.k / kQK;
      for (int64_t b = 0; b < blocks; ++b) {
        Pairs xp[TP];
        float32x2_t dx[TP], sx[TP];  // per token of the pair: d_x, and the minimum term's side
        for (int tp = 0; tp < TP; ++tp) {
          const Act& x0 = x[2 * tp][b];
          const Act& x1 = x[std::min(2 * tp + 1, T - 1)][b];
          const Quants q0 = load_quants(x0), q1 = load_quants(x1);
          xp[tp] = interleave(q0, q1);
          const float d[2] = {f16_value(x0.d), f16_value(x1.d)};
          dx[tp] = vld1_f32(d);
          if constexpr (F::kMin) {
            const float s[2] = {act_sum(x0, q0), act_sum(x1, q1)};
            sx[tp] = vld1_f32(s);
          }
        }
        for (int rp = 0; rp < RP; ++rp) {
          const uint8_t* w0 = w[2 * rp];
          const uint8_t* w1 = w[std::min(2 * rp + 1, R - 1)];
          const Pairs wp = interleave(F::quants(w0, b), F::quants(w1, b));
          const float dw0 = F::scale(w0, b), dw1 = F::scale(w1, b);
          for (int tp = 0; tp < TP; ++tp) {
            int32x4_t dot = vdupq_n_s32(0);
            for (int c = 0; c < 4; ++c) dot = vmmlaq_s32(dot, wp.p[c], xp[tp].p[c]);
            const float32x4_t d = vcombine_f32(vmul_n_f32(dx[tp], dw0), vmul_n_f32(dx[tp], dw1));
            acc[rp][tp] = vfmaq_f32(acc[rp][tp], vcvtq_f32_s32(dot), d);
          }
          if constexpr (F::kMin) {
            const float mw0 = F::min(w0, b), mw1 = F::min(w1, b);
            for (int tp = 0; tp < TP; ++tp)
              acc[rp][tp] = vaddq_f32(acc[rp][tp], vcombine_f32(vmul_n_f32(sx[tp], mw0), vmul_n_f32(sx[tp], mw1)));
          }
        }
      }
      for (int rp = 0; rp < RP; ++rp)
        for (int tp = 0; tp < TP; ++tp) {
          float out[4];
          vst1q_f32(out, acc[rp][tp]);
          for (int lane = 0; lane < 4; ++lane) {
            const int r = 2 * rp + lane / 2, j = 2 * tp + lane % 2;
            if (r < R && j < T) t.y[j * t.y_stride + r] = out[lane];
          }
        }
    }
  };
};

template <class F>
void tile(const MatmulTile& t) {
  if (t.tokens == 1) return neon_kernels().tile(t.w_type)(t);
  dispatch_tile<QuantTile<F>::template Of>(t);
}

}  // namespace
}  // namespace orchard::cpu::i8mm

namespace orchard::cpu {

const IsaKernels& neon_i8mm_kernels() {
  static const IsaKernels table = [] {
    IsaKernels k = neon_kernels();
    k.isa = Isa::NeonI8mm;
    k.set_tile(DType::Q8_0, i8mm::tile<arm::Q8_0>);
    k.set_tile(DType::Q4_0, i8mm::tile<arm::Q4_0>);
    k.set_tile(DType::Q4_1, i8mm::tile<arm::Q4_1>);
    k.set_tile(DType::Q5_0, i8mm::tile<arm::Q5_0>);
    k.set_tile(DType::Q5_1, i8mm::tile<arm::Q5_1>);
    k.set_tile(DType::IQ4_NL, i8mm::tile<arm::IQ4_NL>);
    k.set_tile(DType::MLX_Q4_G32, i8mm::tile<arm::MlxAffine<4, 32>>);
    k.set_tile(DType::MLX_Q4_G64, i8mm::tile<arm::MlxAffine<4, 64>>);
    k.set_tile(DType::MLX_Q4_G128, i8mm::tile<arm::MlxAffine<4, 128>>);
    k.set_tile(DType::MLX_Q8_G32, i8mm::tile<arm::MlxAffine<8, 32>>);
    k.set_tile(DType::MLX_Q8_G64, i8mm::tile<arm::MlxAffine<8, 64>>);
    k.set_tile(DType::MLX_Q8_G128, i8mm::tile<arm::MlxAffine<8, 128>>);
    return k;
  }();
  return table;
}

}  // namespace orchard::cpu
