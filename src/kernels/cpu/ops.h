#pragma once
// The non-matmul CPU ops behind Backend (see core/backend.h for their contracts).
#include <cstdint>
#include <vector>

#include "core/backend.h"
#include "kernels/cpu/kernels.h"

namespace orchard {
class ThreadPool;
}

namespace orchard::cpu {

void rms_norm(ThreadPool& pool, const float* x, const float* weight, float* y, int64_t rows, int64_t dim, float eps);
void rope(ThreadPool& pool, float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, const int32_t* positions,
          const RopeTable& table);
void add(float* y, const float* x, int64_t n);
void add_bias(float* y, const float* bias, int64_t rows, int64_t cols);

// Per-thread score blocks and running softmax state for attention (one backend's; not re-entrant).
struct AttentionScratch {
  std::vector<std::vector<float>> scores;
};
void attention(const IsaKernels& kernels, ThreadPool& pool, AttentionScratch& scratch, const float* q,
               const AttentionBatch& batch, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float scale,
               float* out);

}  // namespace orchard::cpu
