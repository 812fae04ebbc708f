// Plain C++ inner loops: the fallback for any CPU and the baseline the ISA versions are tested
// against. Written for clarity; the compiler's auto-vectorizer does what it can.
#include <cstring>

#include "kernels/cpu/kernels.h"
#include "kernels/cpu/vector_math.h"
#include "quant/blocks.h"
#include "quant/quant.h"

namespace orchard::cpu {
namespace {

template <class Load>
void tile_float_weights(const MatmulTile& t, Load load) {
  for (int j = 0; j < t.tokens; ++j) {
    const auto* x = reinterpret_cast<const float*>(static_cast<const uint8_t*>(t.x) + j * t.x_stride);
    for (int r = 0; r < t.rows; ++r) {
      const uint8_t* w = t.w + r * t.w_stride;
      float sum = 0.0f;
      for (int64_t i = 0; i < t.k; ++i) sum += load(w, i) * x[i];
      t.y[j * t.y_stride + r] = sum;
    }
  }
}

void f32_f32(const MatmulTile& t) {
  tile_float_weights(t, [](const uint8_t* w, int64_t i) { return reinterpret_cast<const float*>(w)[i]; });
}
void f16_f32(const MatmulTile& t) {
  tile_float_weights(t, [](const uint8_t* w, int64_t i) { return f16_to_f32(reinterpret_cast<const uint16_t*>(w)[i]); });
}
void bf16_f32(const MatmulTile& t) {
  tile_float_weights(t, [](const uint8_t* w, int64_t i) { return bf16_to_f32(reinterpret_cast<const uint16_t*>(w)[i]); });
}

// Weight blocks against q8_0 activation blocks: an exact integer dot product per block pair,
// scaled by both blocks' f16 scales. weight_quant(block, i) gives element i as an int.
template <class Block, class Quant>
void tile_q8_activations(const MatmulTile& t, Quant weight_quant) {
  const int64_t blocks = t.k / kQK;
  for (int j = 0; j < t.tokens; ++j) {
    const auto* x = reinterpret_cast<const BlockQ8_0*>(static_cast<const uint8_t*>(t.x) + j * t.x_stride);
    for (int r = 0; r < t.rows; ++r) {
      const auto* w = reinterpret_cast<const Block*>(t.w + r * t.w_stride);
      float sum = 0.0f;
      for (int64_t b = 0; b < blocks; ++b) {
        int32_t isum = 0;
        for (int i = 0; i < kQK; ++i) isum += weight_quant(w[b], i) * x[b].qs[i];
        sum += static_cast<float>(isum) * (f16_to_f32(w[b].d) * f16_to_f32(x[b].d));
      }
      t.y[j * t.y_stride + r] = sum;
    }
  }
}

void q8_0_q8_0(const MatmulTile& t) {
  tile_q8_activations<BlockQ8_0>(t, [](const BlockQ8_0& b, int i) { return int32_t{b.qs[i]}; });
}
void q4_0_q8_0(const MatmulTile& t) {
  tile_q8_activations<BlockQ4_0>(t, [](const BlockQ4_0& b, int i) {
    const int nibble = i < kQK / 2 ? b.qs[i] & 0x0f : b.qs[i - kQK / 2] >> 4;
    return int32_t{nibble - 8};
  });
}

float dot(const float* a, const float* b, int64_t n) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

void axpy(float a, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

}  // namespace

const IsaKernels& generic_kernels() {
  static const IsaKernels table{Isa::Generic, f32_f32, f16_f32, bf16_f32, q8_0_q8_0, q4_0_q8_0, dot, axpy, silu_mul_loop, exp_sum_loop};
  return table;
}

}  // namespace orchard::cpu
