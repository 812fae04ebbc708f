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

// Attention's working memory (one backend's; not re-entrant): per thread, the score block,
// running softmax state and converted query rows; the partial states of split key ranges.
struct AttentionScratch {
  std::vector<std::vector<float>> thread;
  std::vector<float> partial;
};
void attention(const IsaKernels& kernels, ThreadPool& pool, AttentionScratch& scratch, const float* q,
               const AttentionBatch& batch, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float scale,
               float* out);

}  // namespace orchard::cpu
