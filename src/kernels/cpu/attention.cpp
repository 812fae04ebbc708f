// Causal attention for a batch whose tokens may belong to different sequences: each token
// attends to positions 0..pos of its own K/V cache. One (token, head) pair is one work item:
// scores = scale * q . k_p, softmax with the maximum subtracted (no overflow), then the
// probability-weighted sum of v_p. Query heads share KV heads in groups (GQA).
#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"
#include "core/threadpool.h"
#include "kernels/cpu/ops.h"

namespace orchard::cpu {

void attention(const IsaKernels& kernels, ThreadPool& pool, AttentionScratch& scratch, const float* q,
               const AttentionBatch& batch, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float scale,
               float* out) {
  if (n_kv_heads <= 0 || n_heads % n_kv_heads != 0)
    throw Error("attention: " + std::to_string(n_heads) + " query heads cannot share " + std::to_string(n_kv_heads) +
                " KV heads");
  const int64_t group = n_heads / n_kv_heads;
  const int64_t kv_row = n_kv_heads * head_dim;  // floats per cache position
  scratch.scores.resize(static_cast<size_t>(pool.size()));

  pool.parallel_for(batch.n_tokens * n_heads, [&](int64_t begin, int64_t end, int thread) {
    std::vector<float>& scores = scratch.scores[static_cast<size_t>(thread)];
    for (int64_t item = begin; item < end; ++item) {
      const int64_t t = item / n_heads, h = item % n_heads;
      const int64_t n_keys = int64_t{batch.positions[t]} + 1;
      const float* qh = q + item * head_dim;
      const float* k = batch.k_cache[t] + (h / group) * head_dim;
      const float* v = batch.v_cache[t] + (h / group) * head_dim;
      scores.resize(static_cast<size_t>(n_keys));

      float max_score = -INFINITY;
      for (int64_t p = 0; p < n_keys; ++p) {
        scores[p] = scale * kernels.dot(qh, k + p * kv_row, head_dim);
        max_score = std::max(max_score, scores[p]);
      }
      const float total = kernels.exp_sum(scores.data(), n_keys, max_score);
      float* o = out + item * head_dim;
      std::fill(o, o + head_dim, 0.0f);
      const float inv_total = 1.0f / total;
      for (int64_t p = 0; p < n_keys; ++p) kernels.axpy(scores[p] * inv_total, v + p * kv_row, o, head_dim);
    }
  });
}

}  // namespace orchard::cpu
