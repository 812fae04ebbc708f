// Causal attention for training: a forward over one whole sequence that keeps each score
// row's logsumexp, and the backward that recomputes the probabilities from it
// (p_tj = exp(scale q_t.k_j - lse_t)) instead of storing a [T, T] matrix per head.
//
// With D_t = dout_t . out_t and ds_tj = p_tj (dout_t . v_j - D_t):
//   dq_t = scale sum_j ds_tj k_j,  dk_j = scale sum_t ds_tj q_t,  dv_j = sum_t p_tj dout_t
// (t >= j, and the dk/dv sums also run over the query heads of the KV head's group).
// dq is computed per (query token, head) and dk/dv per (key token, KV head) in two passes, so
// every output has one writer and nothing needs locks or per-thread copies; the scores are
// recomputed in each pass. Causal rows have uneven lengths, so work items are dealt to the
// threads round-robin rather than in contiguous chunks.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/threadpool.h"
#include "kernels/cpu/backward.h"

namespace orchard::cpu {

namespace {

// fn(item, thread) for item in [0, items), item i on thread i % threads.
template <class Fn>
void round_robin(ThreadPool& pool, int64_t items, Fn&& fn) {
  const int64_t threads = pool.size();
  pool.parallel_for(std::min(items, threads), [&](int64_t begin, int64_t end, int thread) {
    for (int64_t s = begin; s < end; ++s)
      for (int64_t item = s; item < items; item += threads) fn(item, thread);
  });
}

void check_heads(int64_t n_heads, int64_t n_kv_heads) {
  if (n_kv_heads <= 0 || n_heads % n_kv_heads != 0)
    throw Error("attention: " + std::to_string(n_heads) + " query heads do not group over " +
                std::to_string(n_kv_heads) + " KV heads");
}

}  // namespace

void attention_forward(const IsaKernels& kernels, ThreadPool& pool, const float* q, const float* k, const float* v,
                       int64_t T, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float scale, float* out,
                       float* lse) {
  check_heads(n_heads, n_kv_heads);
  const int64_t group = n_heads / n_kv_heads, kv_stride = n_kv_heads * head_dim;
  std::vector<std::vector<float>> scores(static_cast<size_t>(pool.size()));
  round_robin(pool, T * n_heads, [&](int64_t item, int thread) {
    const int64_t t = item / n_heads, h = item % n_heads, g = h / group;
    const float* qi = q + item * head_dim;
    std::vector<float>& s = scores[thread];
    s.resize(static_cast<size_t>(t + 1));
    float max = -INFINITY;
    for (int64_t j = 0; j <= t; ++j) {
      s[j] = scale * kernels.dot(qi, k + j * kv_stride + g * head_dim, head_dim);
      max = std::max(max, s[j]);
    }
    float sum = 0.0f;
    for (int64_t j = 0; j <= t; ++j) sum += (s[j] = std::exp(s[j] - max));
    float* o = out + item * head_dim;
    std::fill(o, o + head_dim, 0.0f);
    for (int64_t j = 0; j <= t; ++j) kernels.axpy(s[j] / sum, v + j * kv_stride + g * head_dim, o, head_dim);
    lse[item] = max + std::log(sum);
  });
}

void attention_backward(const IsaKernels& kernels, ThreadPool& pool, const float* q, const float* k, const float* v,
                        const float* out, const float* lse, const float* dout, int64_t T, int64_t n_heads,
                        int64_t n_kv_heads, int64_t head_dim, float scale, float* dq, float* dk, float* dv) {
  check_heads(n_heads, n_kv_heads);
  const int64_t group = n_heads / n_kv_heads, kv_stride = n_kv_heads * head_dim;
  std::vector<float> delta(static_cast<size_t>(T * n_heads));
  for (int64_t i = 0; i < T * n_heads; ++i) delta[i] = kernels.dot(dout + i * head_dim, out + i * head_dim, head_dim);

  // dq per (query token t, head h), over keys j <= t.
  round_robin(pool, T * n_heads, [&](int64_t item, int) {
    const int64_t t = item / n_heads, g = (item % n_heads) / group;
    const float* qi = q + item * head_dim;
    const float* gi = dout + item * head_dim;
    float* dqi = dq + item * head_dim;
    std::fill(dqi, dqi + head_dim, 0.0f);
    for (int64_t j = 0; j <= t; ++j) {
      const float* kj = k + j * kv_stride + g * head_dim;
      const float p = std::exp(scale * kernels.dot(qi, kj, head_dim) - lse[item]);
      const float ds = p * (kernels.dot(gi, v + j * kv_stride + g * head_dim, head_dim) - delta[item]);
      kernels.axpy(scale * ds, kj, dqi, head_dim);
    }
  });

  // dk, dv per (key token j, KV head g), over queries t >= j of the group's heads.
  round_robin(pool, T * n_kv_heads, [&](int64_t item, int) {
    const int64_t j = item / n_kv_heads, g = item % n_kv_heads;
    const float* kj = k + item * head_dim;
    const float* vj = v + item * head_dim;
    float* dkj = dk + item * head_dim;
    float* dvj = dv + item * head_dim;
    std::fill(dkj, dkj + head_dim, 0.0f);
    std::fill(dvj, dvj + head_dim, 0.0f);
    for (int64_t t = j; t < T; ++t) {
      for (int64_t h = g * group; h < (g + 1) * group; ++h) {
        const int64_t row = t * n_heads + h;
        const float* qt = q + row * head_dim;
        const float* gt = dout + row * head_dim;
        const float p = std::exp(scale * kernels.dot(qt, kj, head_dim) - lse[row]);
        const float ds = p * (kernels.dot(gt, vj, head_dim) - delta[row]);
        kernels.axpy(scale * ds, qt, dkj, head_dim);
        kernels.axpy(p, gt, dvj, head_dim);
      }
    }
  });
}

}  // namespace orchard::cpu
