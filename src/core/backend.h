#pragma once
// The op/backend seam. Models are written against this interface only; a backend owns the
// kernels (CPU today: src/kernels/cpu; a GPU backend later implements the same calls).
// All activations are f32, row-major, contiguous. Weights are Tensors of any supported dtype
// (used in place, e.g. straight from the mmap).
#include <cstdint>
#include <memory>
#include <string>

#include "core/tensor.h"

namespace orchard {

class ThreadPool;

enum class RopeStyle {
  Interleaved,  // rotate pairs (x[2i], x[2i+1]): GGUF llama layout (Q/K rows permuted by convert)
  Neox,         // rotate halves (x[i], x[i + d/2]): HF layout, and qwen2/qwen3 in GGUF
};

// Rotary embedding: inv_freq[i] for i < head_dim/2 already includes base, scaling and any
// llama3-style frequency correction (see models/rope.h); the kernel only rotates.
struct RopeTable {
  RopeStyle style = RopeStyle::Neox;
  int64_t rot_dim = 0;           // dims rotated per head (== head_dim for these families)
  const float* inv_freq = nullptr;  // rot_dim / 2 values
  float attn_factor = 1.0f;      // multiplies cos/sin (YaRN-style magnitude scaling; 1 otherwise)
};

// Where each token of a batch reads and writes its sequence's KV cache.
// K/V caches hold one head_dim row per (KV head, position) per (layer, sequence) in kv_type
// (f32, f16, or q8_0 with blocks of 32 along head_dim); the model writes the new token's K/V
// at its position before calling attention. The strides give the layout: 0, 0 means
// [position][kv_head][head_dim]; KvCache is head-major ([kv_head][position][head_dim]), so
// each head's keys are one contiguous stream.
struct AttentionBatch {
  int64_t n_tokens = 0;
  const int32_t* positions = nullptr;   // position of each token in its own sequence
  const void* const* k_cache = nullptr;  // per token: base of its sequence's K cache (this layer)
  const void* const* v_cache = nullptr;  // per token: base of its sequence's V cache
  DType kv_type = DType::F32;
  size_t position_stride = 0;  // bytes between one head's rows at consecutive positions (0: n_kv_heads rows)
  size_t head_stride = 0;      // bytes between KV heads' rows at one position (0: one row)
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual int n_threads() const = 0;

  // y[n, out] = x[n, in] * w^T, w is {out, in} of any supported dtype.
  virtual void matmul(const Tensor& w, const float* x, float* y, int64_t n) = 0;
  // out[i, :] = dequantized row ids[i] of table {rows, dim}.
  virtual void get_rows(const Tensor& table, const int32_t* ids, int64_t n, float* out) = 0;
  // y = x / rms(x) * weight, over rows of length dim (weight f32 {dim}); y may alias x.
  virtual void rms_norm(const float* x, const float* weight, float* y, int64_t rows, int64_t dim, float eps) = 0;
  // x is [n_tokens, n_heads, head_dim]; rotates in place at each token's position.
  virtual void rope(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, const int32_t* positions,
                    const RopeTable& table) = 0;
  // Causal attention over each token's own sequence cache, positions 0..pos inclusive.
  // q: [n_tokens, n_heads, head_dim], out: [n_tokens, n_heads, head_dim]; GQA by
  // n_heads / n_kv_heads. scale is usually 1/sqrt(head_dim). k and v are this batch's own new
  // keys and values, [n_tokens, n_kv_heads, head_dim], which the caller has already written
  // into the caches: an inference backend reads the caches (and may be given null here); a
  // training backend attends over these activations directly, so gradients reach them.
  virtual void attention(const float* q, const float* k, const float* v, const AttentionBatch& batch,
                         int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float scale, float* out) = 0;
  // gate[i] = silu(gate[i]) * up[i]
  virtual void silu_mul(float* gate, const float* up, int64_t n) = 0;
  // y[i] += x[i]
  virtual void add(float* y, const float* x, int64_t n) = 0;
  // y[r, :] += bias (f32 {cols}) for each row
  virtual void add_bias(float* y, const Tensor& bias, int64_t rows, int64_t cols) = 0;
  // Marks the start of a model block (a transformer layer). Inference backends ignore it; a
  // recording (training) backend uses it as its gradient-checkpoint boundary.
  virtual void begin_block() {}
};

// The CPU backend with runtime ISA dispatch (see kernels/cpu/).
std::unique_ptr<Backend> make_cpu_backend(int n_threads);

}  // namespace orchard
