// Causal attention for a batch whose tokens may belong to different sequences: each token
// attends to positions 0..pos of its own K/V cache. Flash-style: one (token, KV head) pair is
// one work item and takes its whole GQA group of query heads together, so each K/V row is
// pulled into cache once per group instead of once per query head. Keys are visited in
// blocks; a running maximum and sum per query head (online softmax) rescale the output
// accumulator when a block raises the maximum, so no full score row is ever materialized.
//
// The cache may be f32, f16 or q8_0: only the row kernels (IsaKernels::kv) read it, in its
// own type. For q8_0 the group's query rows are quantized to q8_0 once per work item, so K.Q
// is an integer dot (as llama.cpp does); V rows are dequantized as they are accumulated.
//
// Decode has one token, so the work items are only the KV heads; when they do not divide
// evenly among the threads, each (token, KV head) is also split into key ranges whose partial
// softmax states (max, sum, unnormalized output) are merged afterwards.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "core/error.h"
#include "core/threadpool.h"
#include "kernels/cpu/ops.h"
#include "quant/quant.h"

namespace orchard::cpu {

namespace {

// Keys per block: big enough to amortize the rescale, small enough that the scores of a
// whole GQA group (group * kKeyBlock floats) stay in L1.
constexpr int64_t kKeyBlock = 64;

// Key ranges per (token, KV head): enough that the work items divide evenly among the
// threads when there are few of them (decode), and no split when there are many (a prompt),
// where the partial states would cost more memory traffic than the imbalance.
int64_t key_splits(int64_t items, int threads, int64_t longest) {
  if (items >= 4 * threads) return 1;
  const int64_t splits = threads / std::gcd(items, int64_t{threads});
  return longest >= splits * kKeyBlock ? splits : 1;
}

// Online softmax over keys [begin, end) of one (token, KV head) for its `group` query heads:
// acc[g] gets the unnormalized sum of e^(s - max[g]) v, max[g] and sum[g] the running state.
struct KeyRange {
  const KvKernels& rows;
  const IsaKernels& kernels;
  KvBlock block;  // rows = the head's first cache row; n_keys is set per block
  const uint8_t* v;
  const void* q;
  size_t q_stride;
  float scale;

  void run(int64_t begin, int64_t end, float* acc, float* max, float* sum) {
    const int64_t group = block.group, head_dim = block.head_dim;
    std::fill(acc, acc + group * head_dim, 0.0f);
    std::fill(max, max + group, -INFINITY);
    std::fill(sum, sum + group, 0.0f);
    const uint8_t* k = block.rows;
    for (int64_t p0 = begin; p0 < end; p0 += kKeyBlock) {
      KvBlock b = block;
      b.rows = k + p0 * b.row_stride;
      b.n_keys = std::min(kKeyBlock, end - p0);
      rows.scores(b, q, q_stride, scale);
      for (int64_t g = 0; g < group; ++g) {
        float* s = b.scores + g * b.score_stride;
        const float block_max = *std::max_element(s, s + b.n_keys);
        const float new_max = std::max(max[g], block_max);
        // exp(-inf - finite) = 0 on the first block: the empty accumulator needs no rescale.
        const float rescale = std::exp(max[g] - new_max);
        if (rescale != 1.0f) {
          float* o = acc + g * head_dim;
          for (int64_t i = 0; i < head_dim; ++i) o[i] *= rescale;
        }
        sum[g] = sum[g] * rescale + kernels.exp_sum(s, b.n_keys, new_max);
        max[g] = new_max;
      }
      b.rows = v + p0 * b.row_stride;
      rows.accumulate(b, acc);
    }
  }
};

}  // namespace

void attention(const IsaKernels& kernels, ThreadPool& pool, AttentionScratch& scratch, const float* q,
               const AttentionBatch& batch, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float scale,
               float* out) {
  if (n_kv_heads <= 0 || n_heads % n_kv_heads != 0)
    throw Error("attention: " + std::to_string(n_heads) + " query heads cannot share " + std::to_string(n_kv_heads) +
                " KV heads");
  const KvKernels& rows = kernels.kv_kernels(batch.kv_type);
  if (!rows.scores || !rows.accumulate)
    throw Error("attention: no kernels for a " + std::string(dtype_name(batch.kv_type)) + " KV cache");
  const DType q_type = quant_traits(batch.kv_type)->vec_dot_type;
  const int64_t group = n_heads / n_kv_heads;
  const size_t head_bytes = row_bytes(batch.kv_type, head_dim);  // one head of one cache position
  const size_t row_stride = batch.position_stride ? batch.position_stride : n_kv_heads * head_bytes;
  const size_t head_stride = batch.head_stride ? batch.head_stride : head_bytes;
  const size_t q_stride = row_bytes(q_type, head_dim);

  const int64_t tasks = batch.n_tokens * n_kv_heads;
  const int64_t longest = *std::max_element(batch.positions, batch.positions + batch.n_tokens) + int64_t{1};
  const int64_t splits = key_splits(tasks, pool.size(), longest);
  const int64_t state = group * (head_dim + 2);  // acc, max, sum of one key range
  if (splits > 1) scratch.partial.resize(static_cast<size_t>(tasks * splits * state));
  scratch.thread.resize(static_cast<size_t>(pool.size()));

  pool.parallel_for(tasks * splits, [&](int64_t begin, int64_t end, int thread) {
    std::vector<float>& buffer = scratch.thread[static_cast<size_t>(thread)];
    const size_t q_floats = q_type == DType::F32 ? 0 : (group * q_stride + sizeof(float) - 1) / sizeof(float);
    buffer.resize(static_cast<size_t>(group * (kKeyBlock + 2)) + q_floats);
    float* scores = buffer.data();                      // [group, kKeyBlock] of the current block
    float* own_max = scores + group * kKeyBlock;        // [group]
    float* own_sum = own_max + group;                   // [group]
    void* q_converted = own_sum + group;                // the group's query rows in q_type
    for (int64_t item = begin; item < end; ++item) {
      const int64_t task = item / splits, split = item % splits;
      const int64_t t = task / n_kv_heads, kvh = task % n_kv_heads;
      const int64_t n_keys = int64_t{batch.positions[t]} + 1;
      const float* qg = q + (t * n_heads + kvh * group) * head_dim;  // the group's query heads are adjacent
      const void* qx = qg;
      if (q_type != DType::F32) {
        for (int64_t g = 0; g < group; ++g)
          quantize_row(q_type, qg + g * head_dim, static_cast<uint8_t*>(q_converted) + g * q_stride, head_dim);
        qx = q_converted;
      }
      KeyRange range{.rows = rows,
                     .kernels = kernels,
                     .block = {.rows = static_cast<const uint8_t*>(batch.k_cache[t]) + kvh * head_stride,
                               .row_stride = row_stride,
                               .n_keys = 0,
                               .group = group,
                               .head_dim = head_dim,
                               .scores = scores,
                               .score_stride = kKeyBlock},
                     .v = static_cast<const uint8_t*>(batch.v_cache[t]) + kvh * head_stride,
                     .q = qx,
                     .q_stride = q_stride,
                     .scale = scale};
      if (splits == 1) {
        float* og = out + (t * n_heads + kvh * group) * head_dim;
        range.run(0, n_keys, og, own_max, own_sum);
        for (int64_t g = 0; g < group; ++g) {
          const float inv_sum = 1.0f / own_sum[g];
          for (int64_t i = 0; i < head_dim; ++i) og[g * head_dim + i] *= inv_sum;
        }
      } else {
        float* acc = scratch.partial.data() + item * state;
        range.run(n_keys * split / splits, n_keys * (split + 1) / splits, acc, acc + group * head_dim,
                  acc + group * (head_dim + 1));
      }
    }
  });
  if (splits == 1) return;

  // Merge the key ranges of each (token, query head): rescale each to the common maximum.
  // The last range is never empty, so the maximum is finite.
  for (int64_t task = 0; task < tasks; ++task) {
    const int64_t t = task / n_kv_heads, kvh = task % n_kv_heads;
    const float* first = scratch.partial.data() + task * splits * state;
    for (int64_t g = 0; g < group; ++g) {
      float max = -INFINITY, sum = 0.0f;
      for (int64_t s = 0; s < splits; ++s) max = std::max(max, first[s * state + group * head_dim + g]);
      float* o = out + (t * n_heads + kvh * group + g) * head_dim;
      std::fill(o, o + head_dim, 0.0f);
      for (int64_t s = 0; s < splits; ++s) {
        const float* part = first + s * state;
        const float w = std::exp(part[group * head_dim + g] - max);
        sum += w * part[group * (head_dim + 1) + g];
        kernels.axpy(w, part + g * head_dim, o, head_dim);
      }
      const float inv_sum = 1.0f / sum;
      for (int64_t i = 0; i < head_dim; ++i) o[i] *= inv_sum;
    }
  }
}

}  // namespace orchard::cpu
