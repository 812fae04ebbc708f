// Rotary position embedding. Each rotated pair (a, b) at frequency f and position p becomes
// (a cos - b sin, a sin + b cos) with angle p * f; which elements pair up depends on the
// layout (RopeStyle). Dimensions past rot_dim are left as they are.
#include <cmath>
#include <string>

#include "core/error.h"
#include "core/threadpool.h"
#include "kernels/cpu/ops.h"

namespace orchard::cpu {

void rope(ThreadPool& pool, float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, const int32_t* positions,
          const RopeTable& table) {
  const int64_t half = table.rot_dim / 2;
  if (table.rot_dim <= 0 || table.rot_dim > head_dim || table.rot_dim % 2 != 0 || !table.inv_freq)
    throw Error("rope: rot_dim " + std::to_string(table.rot_dim) + " does not fit head_dim " +
                std::to_string(head_dim));
  // Interleaved pairs are (2i, 2i+1); Neox pairs are (i, i + rot_dim/2).
  const int64_t stride = table.style == RopeStyle::Interleaved ? 2 : 1;
  const int64_t partner = table.style == RopeStyle::Interleaved ? 1 : half;
  pool.parallel_for(n_tokens, [&](int64_t begin, int64_t end, int) {
    std::vector<float> cos_t(static_cast<size_t>(half)), sin_t(static_cast<size_t>(half));
    for (int64_t t = begin; t < end; ++t) {
      const float pos = static_cast<float>(positions[t]);
      for (int64_t i = 0; i < half; ++i) {
        const double angle = pos * table.inv_freq[i];  // the product in f32, as the reference models do
        cos_t[i] = static_cast<float>(std::cos(angle)) * table.attn_factor;
        sin_t[i] = static_cast<float>(std::sin(angle)) * table.attn_factor;
      }
      for (int64_t h = 0; h < n_heads; ++h) {
        float* v = x + (t * n_heads + h) * head_dim;
        for (int64_t i = 0; i < half; ++i) {
          float& a = v[i * stride];
          float& b = v[i * stride + partner];
          const float a0 = a, b0 = b;
          a = a0 * cos_t[i] - b0 * sin_t[i];
          b = a0 * sin_t[i] + b0 * cos_t[i];
        }
      }
    }
  });
}

}  // namespace orchard::cpu
