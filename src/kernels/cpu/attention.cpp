// Causal attention for a batch whose tokens may belong to different sequences: each token
// attends to positions 0..pos of its own K/V cache. Flash-style: one (token, KV head) pair is
// one work item and takes its whole GQA group of query heads together, so each K/V row is
// pulled into cache once per group instead of once per query head. Keys are visited in
// blocks; a running maximum and sum per query head (online softmax) rescale the output
// accumulator when a block raises the maximum, so no full score row is ever materialized.
#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"
#include "core/threadpool.h"
#include "kernels/cpu/ops.h"

namespace orchard::cpu {

namespace {

// Keys per block: big enough to amortize the rescale, small enough that the scores of a
// whole GQA group (group * kKeyBlock floats) stay in L1.
constexpr int64_t kKeyBlock = 64;

}  // namespace

void attention(const IsaKernels& kernels, ThreadPool& pool, AttentionScratch& scratch, const float* q,
               const AttentionBatch& batch, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float scale,
               float* out) {
  if (n_kv_heads <= 0 || n_heads % n_kv_heads != 0)
    throw Error("attention: " + std::to_string(n_heads) + " query heads cannot share " + std::to_string(n_kv_heads) +
                " KV heads");
  const int64_t group = n_heads / n_kv_heads;
  const int64_t kv_row = n_kv_heads * head_dim;  // floats per cache position
  scratch.scores.resize(static_cast<size_t>(pool.size()));

  pool.parallel_for(batch.n_tokens * n_kv_heads, [&](int64_t begin, int64_t end, int thread) {
    std::vector<float>& buffer = scratch.scores[static_cast<size_t>(thread)];
    buffer.resize(static_cast<size_t>(group * (kKeyBlock + 2)));
    float* scores = buffer.data();                   // [group, kKeyBlock] of the current block
    float* running_max = scores + group * kKeyBlock;  // [group]
    float* running_sum = running_max + group;         // [group]
    for (int64_t item = begin; item < end; ++item) {
      const int64_t t = item / n_kv_heads, kvh = item % n_kv_heads;
      const int64_t n_keys = int64_t{batch.positions[t]} + 1;
      const float* qg = q + (t * n_heads + kvh * group) * head_dim;  // the group's query heads are adjacent
      float* og = out + (t * n_heads + kvh * group) * head_dim;
      const float* k = batch.k_cache[t] + kvh * head_dim;
      const float* v = batch.v_cache[t] + kvh * head_dim;
      std::fill(og, og + group * head_dim, 0.0f);
      std::fill(running_max, running_max + group, -INFINITY);
      std::fill(running_sum, running_sum + group, 0.0f);

      for (int64_t p0 = 0; p0 < n_keys; p0 += kKeyBlock) {
        const int64_t n_block = std::min(kKeyBlock, n_keys - p0);
        for (int64_t j = 0; j < n_block; ++j) {
          const float* kp = k + (p0 + j) * kv_row;
          for (int64_t g = 0; g < group; ++g) scores[g * kKeyBlock + j] = scale * kernels.dot(qg + g * head_dim, kp, head_dim);
        }
        for (int64_t g = 0; g < group; ++g) {
          float* s = scores + g * kKeyBlock;
          const float block_max = *std::max_element(s, s + n_block);
          const float new_max = std::max(running_max[g], block_max);
          // exp(-inf - finite) = 0 on the first block: the empty accumulator needs no rescale.
          const float rescale = std::exp(running_max[g] - new_max);
          if (rescale != 1.0f) {
            float* o = og + g * head_dim;
            for (int64_t i = 0; i < head_dim; ++i) o[i] *= rescale;
          }
          running_sum[g] = running_sum[g] * rescale + kernels.exp_sum(s, n_block, new_max);
          running_max[g] = new_max;
        }
        for (int64_t j = 0; j < n_block; ++j) {
          const float* vp = v + (p0 + j) * kv_row;
          for (int64_t g = 0; g < group; ++g) kernels.axpy(scores[g * kKeyBlock + j], vp, og + g * head_dim, head_dim);
        }
      }
      for (int64_t g = 0; g < group; ++g) {
        const float inv_sum = 1.0f / running_sum[g];
        float* o = og + g * head_dim;
        for (int64_t i = 0; i < head_dim; ++i) o[i] *= inv_sum;
      }
    }
  });
}

}  // namespace orchard::cpu
