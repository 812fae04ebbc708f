// NEON kernels with the dot product extension (ARMv8.2-A: every Apple M core, Graviton 2+).
// Float weights use 4-wide FMA (f16 converted with vcvt); the block formats (q8_0, q4_0, q4_1,
// q5_0, q5_1, iq4_nl, MLX affine; neon_blocks.h) against q8_0 / q8_1 activations use
// vdotq_s32 (16 signed byte products summed in groups of four into int32).
#include <arm_neon.h>

#include "kernels/cpu/arm/neon_blocks.h"
#include "kernels/cpu/arm/tile_sets.h"
#include "kernels/cpu/kernels.h"
#include "kernels/cpu/vector_math.h"
#include "kernels/cpu/x86/tile_dispatch.h"

// Its own namespace: code built with these flags must never share a symbol with another ISA's.
namespace orchard::cpu::neon {
namespace {

using namespace arm;

const float* act_row(const MatmulTile& t, int j) {
  return reinterpret_cast<const float*>(static_cast<const uint8_t*>(t.x) + j * t.x_stride);
}

// ---- f32 / f16 weights, f32 activations ----

struct LoadF32 {
  static float32x4_t load(const uint8_t* row, int64_t i) { return vld1q_f32(reinterpret_cast<const float*>(row) + i); }
  static float at(const uint8_t* row, int64_t i) { return reinterpret_cast<const float*>(row)[i]; }
};
struct LoadF16 {
  static float32x4_t load(const uint8_t* row, int64_t i) {
    return vcvt_f32_f16(vld1_f16(reinterpret_cast<const float16_t*>(row) + i));
  }
  static float at(const uint8_t* row, int64_t i) { return static_cast<float>(reinterpret_cast<const __fp16*>(row)[i]); }
};

template <class Load>
struct FloatTile {
  template <int R, int T>
  struct Of {
    static void run(const MatmulTile& t) {
      float32x4_t acc[R][T];
      for (auto& row : acc)
        for (auto& a : row) a = vdupq_n_f32(0.0f);
      int64_t i = 0;
      for (; i + 4 <= t.k; i += 4) {
        float32x4_t x[T];
        for (int j = 0; j < T; ++j) x[j] = vld1q_f32(act_row(t, j) + i);
        for (int r = 0; r < R; ++r) {
          const float32x4_t w = Load::load(t.w + r * t.w_stride, i);
          for (int j = 0; j < T; ++j) acc[r][j] = vfmaq_f32(acc[r][j], w, x[j]);
        }
      }
      for (int r = 0; r < R; ++r)
        for (int j = 0; j < T; ++j) {
          float sum = vaddvq_f32(acc[r][j]);
          for (int64_t e = i; e < t.k; ++e) sum += Load::at(t.w + r * t.w_stride, e) * act_row(t, j)[e];
          t.y[j * t.y_stride + r] = sum;
        }
    }
  };
};

// ---- block-quantized weights (neon_blocks.h formats), q8_0 / q8_1 activations ----

// Per block, as the reference dots: d_w d_x sum q_w q_x (+ min_w d_x sum q_x). Each weight
// block is unpacked once and used for every token of the tile.
template <class F>
struct QuantTile {
  using Act = typename F::Act;
  template <int R, int T>
  struct Of {
    static void run(const MatmulTile& t) {
      float32x4_t acc[R][T];
      for (auto& row : acc)
        for (auto& a : row) a = vdupq_n_f32(0.0f);
      const int64_t blocks = t.k / kQK;
      for (int64_t b = 0; b < blocks; ++b) {
        Quants x[T];
        float dx[T];
        float32x4_t sx[T];  // the minimum term's activation side, a quarter per lane
        for (int j = 0; j < T; ++j) {
          const Act& xb = reinterpret_cast<const Act*>(static_cast<const uint8_t*>(t.x) + j * t.x_stride)[b];
          x[j] = load_quants(xb);
          dx[j] = f16_value(xb.d);
          if constexpr (F::kMin) sx[j] = vdupq_n_f32(0.25f * act_sum(xb, x[j]));
        }
        for (int r = 0; r < R; ++r) {
          const uint8_t* row = t.w + r * t.w_stride;
          const Quants w = F::quants(row, b);
          const float dw = F::scale(row, b);
          for (int j = 0; j < T; ++j) {
            const int32x4_t dot = vdotq_s32(vdotq_s32(vdupq_n_s32(0), w.lo, x[j].lo), w.hi, x[j].hi);
            acc[r][j] = vfmaq_n_f32(acc[r][j], vcvtq_f32_s32(dot), dw * dx[j]);
          }
          if constexpr (F::kMin) {
            const float mw = F::min(row, b);
            for (int j = 0; j < T; ++j) acc[r][j] = vfmaq_n_f32(acc[r][j], sx[j], mw);
          }
        }
      }
      for (int r = 0; r < R; ++r)
        for (int j = 0; j < T; ++j) t.y[j * t.y_stride + r] = vaddvq_f32(acc[r][j]);
    }
  };
};

// ---- vector helpers for attention ----

float dot(const float* a, const float* b, int64_t n) {
  float32x4_t acc = vdupq_n_f32(0.0f);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) acc = vfmaq_f32(acc, vld1q_f32(a + i), vld1q_f32(b + i));
  float sum = vaddvq_f32(acc);
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

void axpy(float a, const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vld1q_f32(x + i), a));
  for (; i < n; ++i) y[i] += a * x[i];
}

}  // namespace
}  // namespace orchard::cpu::neon

namespace orchard::cpu {

const IsaKernels& neon_kernels() {
  using namespace neon;
  static const IsaKernels table = [] {
    IsaKernels k{.isa = Isa::Neon, .dot = dot, .axpy = axpy, .silu_mul = silu_mul_loop, .exp_sum = exp_sum_loop};
    k.set_tile(DType::F32, dispatch_tile<FloatTile<LoadF32>::Of>);
    k.set_tile(DType::F16, dispatch_tile<FloatTile<LoadF16>::Of>);
    k.set_tile(DType::Q8_0, dispatch_tile<QuantTile<Q8_0>::Of>);
    k.set_tile(DType::Q4_0, dispatch_tile<QuantTile<Q4_0>::Of>);
    k.set_tile(DType::Q4_1, dispatch_tile<QuantTile<Q4_1>::Of>);
    k.set_tile(DType::Q5_0, dispatch_tile<QuantTile<Q5_0>::Of>);
    k.set_tile(DType::Q5_1, dispatch_tile<QuantTile<Q5_1>::Of>);
    k.set_tile(DType::IQ4_NL, dispatch_tile<QuantTile<IQ4_NL>::Of>);
    k.set_tile(DType::MLX_Q4_G32, dispatch_tile<QuantTile<MlxAffine<4, 32>>::Of>);
    k.set_tile(DType::MLX_Q4_G64, dispatch_tile<QuantTile<MlxAffine<4, 64>>::Of>);
    k.set_tile(DType::MLX_Q4_G128, dispatch_tile<QuantTile<MlxAffine<4, 128>>::Of>);
    k.set_tile(DType::MLX_Q8_G32, dispatch_tile<QuantTile<MlxAffine<8, 32>>::Of>);
    k.set_tile(DType::MLX_Q8_G64, dispatch_tile<QuantTile<MlxAffine<8, 64>>::Of>);
    k.set_tile(DType::MLX_Q8_G128, dispatch_tile<QuantTile<MlxAffine<8, 128>>::Of>);
    add_k_quant_tiles_neon(k);
    add_q8_activation_quantizers_neon(k);
    add_reference_kv_kernels(k);  // no NEON KV row kernels yet
    return k;
  }();
  return table;
}

}  // namespace orchard::cpu
