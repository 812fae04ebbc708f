// MLX affine group quantization (w = scale * q + bias per group), repacked at load time into
// orchard's MLX_Q*_G* block types (core/dtype.h): per group a float scale, a float bias, then the
// quants packed as MLX packs them (element i at bits [bits*i, bits*(i+1)), low bits first).
// The encoder follows mlx's affine_quantize (mlx/backend/cpu/quantized.cpp) step by step so the
// quants and scales are the ones mlx_lm.convert writes; its activations are q8_0, since every
// group is a whole number of 32-element q8_0 blocks.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>

#include "quant/blocks.h"
#include "quant/codecs.h"

namespace orchard::codecs {
namespace {

template <int Bits, int Group>
struct MlxBlock {
  static constexpr int kQuantBytes = Group * Bits / 8;
  float scale;
  float bias;
  uint8_t qs[kQuantBytes];
};
static_assert(sizeof(MlxBlock<4, 64>) == 8 + 32 && sizeof(MlxBlock<8, 128>) == 8 + 128);

template <int Bits>
inline int quant_at(const uint8_t* qs, int i) {
  if constexpr (Bits == 8) {
    return qs[i];
  } else {
    return (qs[i / 2] >> ((i % 2) * 4)) & 0x0f;
  }
}

template <int Bits, int Group>
void decode(const void* src, float* dst, int64_t n) {
  const auto* blocks = static_cast<const MlxBlock<Bits, Group>*>(src);
  for (int64_t b = 0; b < n / Group; ++b)
    for (int i = 0; i < Group; ++i)
      dst[b * Group + i] = blocks[b].scale * static_cast<float>(quant_at<Bits>(blocks[b].qs, i)) + blocks[b].bias;
}

template <int Bits, int Group>
void encode(const float* src, void* dst, int64_t n) {
  constexpr float kBins = static_cast<float>((1 << Bits) - 1);
  constexpr float kEps = 1e-7f;
  auto* blocks = static_cast<MlxBlock<Bits, Group>*>(dst);
  for (int64_t b = 0; b < n / Group; ++b) {
    const float* w = src + b * Group;
    float w_min = std::numeric_limits<float>::infinity();
    float w_max = -w_min;
    for (int i = 0; i < Group; ++i) {
      w_max = std::max(w_max, w[i]);
      w_min = std::min(w_min, w[i]);
    }
    // MLX anchors the extreme of larger magnitude ("edge") on an exact quant level, so the
    // scale's sign follows it and the bias is that edge (zero when it rounds to level 0).
    const bool min_is_edge = std::abs(w_min) > std::abs(w_max);
    float scale = std::max((w_max - w_min) / kBins, kEps);
    scale = min_is_edge ? scale : -scale;
    const float edge = min_is_edge ? w_min : w_max;
    const float q0 = std::rint(edge / scale);
    float bias = 0.0f;
    if (q0 != 0.0f) {
      scale = edge / q0;
      bias = edge;
    }
    auto& out = blocks[b];
    out.scale = scale;
    out.bias = bias;
    std::memset(out.qs, 0, sizeof(out.qs));
    for (int i = 0; i < Group; ++i) {
      const float q = std::min(std::max(std::rint((w[i] - bias) / scale), 0.0f), kBins);
      const int qi = static_cast<int>(q);
      if constexpr (Bits == 8)
        out.qs[i] = static_cast<uint8_t>(qi);
      else
        out.qs[i / 2] |= static_cast<uint8_t>(qi << ((i % 2) * 4));
    }
  }
}

// Per q8_0 block of the activations: d_x * (scale * sum q_w q_x + bias * sum q_x).
template <int Bits, int Group>
float dot(const void* w, const void* x, int64_t n) {
  const auto* wb = static_cast<const MlxBlock<Bits, Group>*>(w);
  const auto* xb = static_cast<const BlockQ8_0*>(x);
  float sum = 0.0f;
  for (int64_t b = 0; b < n / kQK; ++b) {
    const auto& g = wb[b / (Group / kQK)];
    const int first = static_cast<int>(b % (Group / kQK)) * kQK;
    int qsum = 0;
    int xsum = 0;
    for (int j = 0; j < kQK; ++j) {
      qsum += quant_at<Bits>(g.qs, first + j) * xb[b].qs[j];
      xsum += xb[b].qs[j];
    }
    sum += f16_to_f32(xb[b].d) * (g.scale * static_cast<float>(qsum) + g.bias * static_cast<float>(xsum));
  }
  return sum;
}

template <int Bits, int Group>
constexpr QuantTraits traits(DType t) {
  return QuantTraits{t, decode<Bits, Group>, encode<Bits, Group>, DType::Q8_0, dot<Bits, Group>};
}

constexpr std::array kMlxTraits = {
    traits<4, 32>(DType::MLX_Q4_G32),  traits<4, 64>(DType::MLX_Q4_G64),  traits<4, 128>(DType::MLX_Q4_G128),
    traits<8, 32>(DType::MLX_Q8_G32),  traits<8, 64>(DType::MLX_Q8_G64),  traits<8, 128>(DType::MLX_Q8_G128),
};

}  // namespace

std::span<const QuantTraits> mlx_affine_traits() { return kMlxTraits; }

}  // namespace orchard::codecs
