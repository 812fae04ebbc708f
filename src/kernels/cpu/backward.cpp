// Backward of the row-wise and element-wise ops (embedding rows, biases, RMSNorm, RoPE, SiLU
// gating) and the softmax cross-entropy loss. Row sums are taken in double as in the forward.
#include "kernels/cpu/backward.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/threadpool.h"
#include "kernels/cpu/ops.h"

namespace orchard::cpu {

// Serial: two tokens with the same id add into the same table row.
void get_rows_backward(const int32_t* ids, const float* dy, float* dtable, int64_t n, int64_t dim) {
  for (int64_t i = 0; i < n; ++i) {
    float* __restrict row = dtable + static_cast<int64_t>(ids[i]) * dim;
    const float* __restrict g = dy + i * dim;
    for (int64_t j = 0; j < dim; ++j) row[j] += g[j];
  }
}

void add_bias_backward(const float* dy, float* dbias, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) add(dbias, dy + r * cols, cols);
}

// With r = 1 / sqrt(mean(x^2) + eps) and y_j = x_j r w_j:
//   dweight_j += dy_j x_j r,  dx_j = r w_j dy_j - x_j r^3 / dim * sum_k dy_k w_k x_k.
// Each thread sums its rows' dweight into its own buffer; they are added up in thread order.
void rms_norm_backward(ThreadPool& pool, const float* x, const float* weight, const float* dy, float* dx,
                       float* dweight, int64_t rows, int64_t dim, float eps) {
  std::vector<std::vector<double>> partial(static_cast<size_t>(pool.size()));
  pool.parallel_for(rows, [&](int64_t begin, int64_t end, int thread) {
    std::vector<double>& dw = partial[thread];
    dw.assign(static_cast<size_t>(dim), 0.0);
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = x + r * dim;
      const float* gr = dy + r * dim;
      float* dxr = dx + r * dim;
      double squares = 0.0, dot = 0.0;
      for (int64_t j = 0; j < dim; ++j) {
        squares += static_cast<double>(xr[j]) * xr[j];
        dot += static_cast<double>(gr[j]) * weight[j] * xr[j];
      }
      const double inv = 1.0 / std::sqrt(squares / static_cast<double>(dim) + eps);
      const float a = static_cast<float>(inv);
      const float b = static_cast<float>(inv * inv * inv * dot / static_cast<double>(dim));
      for (int64_t j = 0; j < dim; ++j) {
        dxr[j] = a * weight[j] * gr[j] - b * xr[j];
        dw[j] += static_cast<double>(gr[j]) * xr[j] * a;
      }
    }
  });
  for (const auto& dw : partial)
    for (size_t j = 0; j < dw.size(); ++j) dweight[j] += static_cast<float>(dw[j]);
}

// The forward rotates each pair by +angle; its transpose rotates by -angle, which is the
// forward kernel run with negated frequencies (cos is even, sin odd, attn_factor unchanged).
void rope_backward(ThreadPool& pool, float* dx, int64_t n_tokens, int64_t n_heads, int64_t head_dim,
                   const int32_t* positions, const RopeTable& table) {
  if (!table.inv_freq || table.rot_dim <= 0)  // not a valid table: the forward says why
    return rope(pool, dx, n_tokens, n_heads, head_dim, positions, table);
  std::vector<float> negated(static_cast<size_t>(table.rot_dim / 2));
  for (size_t i = 0; i < negated.size(); ++i) negated[i] = -table.inv_freq[i];
  RopeTable inverse = table;
  inverse.inv_freq = negated.data();
  rope(pool, dx, n_tokens, n_heads, head_dim, positions, inverse);
}

// y = g s(g) u with s the logistic sigmoid: dup = dy g s(g), dgate = dy u s(g) (1 + g (1 - s(g))).
void silu_mul_backward(ThreadPool& pool, const float* gate, const float* up, const float* dy, float* dgate, float* dup,
                       int64_t n) {
  pool.parallel_for(n, [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) {
      const float g = gate[i];
      const float s = 1.0f / (1.0f + std::exp(-g));
      dup[i] = dy[i] * g * s;
      dgate[i] = dy[i] * up[i] * s * (1.0f + g * (1.0f - s));
    }
  });
}

// loss_r = logsumexp(logits_r) - logits_r[target_r]; d/dlogits_r = (softmax_r - onehot) / count.
double cross_entropy(ThreadPool& pool, const float* logits, const int32_t* targets, int64_t n, int64_t vocab,
                     float* dlogits) {
  int64_t count = 0;
  for (int64_t r = 0; r < n; ++r) {
    if (targets[r] == kIgnoreIndex) continue;
    if (targets[r] < 0 || targets[r] >= vocab)
      throw Error("cross_entropy: target " + std::to_string(targets[r]) + " of row " + std::to_string(r) +
                  " is outside the vocabulary of " + std::to_string(vocab));
    ++count;
  }
  std::vector<double> losses(static_cast<size_t>(n), 0.0);
  const double inv_count = count ? 1.0 / static_cast<double>(count) : 0.0;
  pool.parallel_for(n, [&](int64_t begin, int64_t end, int) {
    for (int64_t r = begin; r < end; ++r) {
      const float* l = logits + r * vocab;
      float* d = dlogits + r * vocab;
      if (targets[r] == kIgnoreIndex) {
        std::fill(d, d + vocab, 0.0f);
        continue;
      }
      float max = l[0];
      for (int64_t j = 1; j < vocab; ++j) max = std::max(max, l[j]);
      double sum = 0.0;
      for (int64_t j = 0; j < vocab; ++j) sum += std::exp(static_cast<double>(l[j] - max));
      const double lse = max + std::log(sum);
      losses[r] = lse - l[targets[r]];
      for (int64_t j = 0; j < vocab; ++j) d[j] = static_cast<float>(std::exp(l[j] - lse) * inv_count);
      d[targets[r]] -= static_cast<float>(inv_count);
    }
  });
  double total = 0.0;
  for (double loss : losses) total += loss;
  return total * inv_count;
}

}  // namespace orchard::cpu
