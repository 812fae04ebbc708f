#pragma once
// Backward kernels of the forward ops in core/backend.h, for training. All f32, row-major and
// contiguous like the forward ops. Gradients of parameters (dw, dweight, dtable) are always
// accumulated (+=) so several uses of one weight, and several micro-batches, sum into one
// buffer; which activation gradients accumulate and which are written is said per function.
// The heavy ones (matmul, attention) take the ISA's kernel table for their dot / axpy.
#include <cstdint>

#include "core/backend.h"
#include "core/tensor.h"
#include "kernels/cpu/kernels.h"

namespace orchard {
class ThreadPool;
}

namespace orchard::cpu {

// For y[n, out] = x[n, in] * w^T:
// dx[n, in] += dy[n, out] * w, w {out, in} of any readable dtype (f32, f16, bf16 or a frozen
// quantized weight: rows are decoded to f32 a slice at a time, never the whole matrix).
void matmul_backward_x(const IsaKernels& kernels, ThreadPool& pool, const Tensor& w, const float* dy, float* dx,
                       int64_t n);
// dw[out, in] += dy^T * x for an f32 weight.
void matmul_backward_w(const IsaKernels& kernels, ThreadPool& pool, const float* x, const float* dy, float* dw,
                       int64_t n, int64_t in, int64_t out);

// For out[i] = table[ids[i]]: dtable[ids[i], :] += dy[i, :].
void get_rows_backward(const int32_t* ids, const float* dy, float* dtable, int64_t n, int64_t dim);

// For y[r, :] += bias (qkv biases): dbias += the column sums of dy [rows, cols]. (The gradient
// of y + x, a residual, is dy itself for both.)
void add_bias_backward(const float* dy, float* dbias, int64_t rows, int64_t cols);

// For y = x / rms(x) * weight (rows of length dim): dx is written, dweight accumulated.
void rms_norm_backward(ThreadPool& pool, const float* x, const float* weight, const float* dy, float* dx,
                       float* dweight, int64_t rows, int64_t dim, float eps);

// For rope: rotates the gradient back in place (the transpose of the forward rotation), with the
// same table and positions as the forward.
void rope_backward(ThreadPool& pool, float* dx, int64_t n_tokens, int64_t n_heads, int64_t head_dim,
                   const int32_t* positions, const RopeTable& table);

// For y = silu(gate) * up (gate and up as they were before the in-place forward): dgate and
// dup are written.
void silu_mul_backward(ThreadPool& pool, const float* gate, const float* up, const float* dy, float* dgate, float* dup,
                       int64_t n);

// Causal self-attention over one sequence: q [T, n_heads, head_dim], k and v
// [T, n_kv_heads, head_dim]; token t attends to 0..t; GQA by consecutive groups of
// n_heads / n_kv_heads query heads per KV head. The training forward also keeps the
// logsumexp of each (token, head) score row, lse [T, n_heads], which the backward uses to
// recompute the probabilities instead of storing them.
void attention_forward(const IsaKernels& kernels, ThreadPool& pool, const float* q, const float* k, const float* v,
                       int64_t T, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float scale, float* out,
                       float* lse);
// dq, dk and dv are written (dk, dv summed over the GQA group and over the tokens attending).
void attention_backward(const IsaKernels& kernels, ThreadPool& pool, const float* q, const float* k, const float* v,
                        const float* out, const float* lse, const float* dout, int64_t T, int64_t n_heads,
                        int64_t n_kv_heads, int64_t head_dim, float scale, float* dq, float* dk, float* dv);

// Softmax cross-entropy of logits [n, vocab] against targets (kIgnoreIndex rows are skipped):
// returns the mean loss over the other rows and writes dlogits of that mean (zero rows where
// ignored; all zero, and loss 0, when every row is ignored).
inline constexpr int32_t kIgnoreIndex = -100;
double cross_entropy(ThreadPool& pool, const float* logits, const int32_t* targets, int64_t n, int64_t vocab,
                     float* dlogits);

}  // namespace orchard::cpu
