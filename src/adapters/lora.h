#pragma once
// Low-rank adapters (LoRA, and DoRA's magnitude-scaled variant) on the matrices of a model,
// as MLX LM and Hugging Face PEFT define them. One adapter per adapted weight W {out, in}:
//
//   LoRA:  y = x W^T + scale * (dropout(x) A^T) B^T          A {rank, in}, B {out, rank}
//   DoRA:  y = m / ||W + scale B A||_row  *  (x W^T + scale * (dropout(x) A^T) B^T)
//          with m {out} trained and the row norm treated as a constant (no gradient), as in
//          mlx_lm's DoRALinear and PEFT.
//
// W stays as stored (f32/f16/bf16 or quantized: QLoRA keeps a Q4/Q8 base quantized in memory).
// The same lora_forward() serves inference (`--adapter-path`, AdaptedBackend below) and the
// training tape (train/tape_backend.h), so the adapted model is one definition.
//
// Naming: orchard names adapters by the GGUF name of the weight ("blk.3.attn_q.weight");
// adapter files are written with MLX LM or PEFT tensor names (adapters/adapter_file.h).
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/backend.h"
#include "core/tensor.h"
#include "io/model_source.h"

namespace orchard {

struct LoraConfig {
  int rank = 8;
  float scale = 20.0f;   // MLX LM's default; PEFT's lora_alpha / r
  float dropout = 0.0f;  // on the adapter path's input, training only
  bool dora = false;
  // Which matrices, by the GGUF name part ("attn_q", "attn_k", "attn_v", "attn_output",
  // "ffn_gate", "ffn_up", "ffn_down"); empty = {"attn_q", "attn_v"} (MLX LM's and PEFT's
  // default for Llama). "all" as the only entry means every linear layer of the blocks.
  std::vector<std::string> targets;
  int num_layers = -1;   // adapt the last N blocks (MLX LM's --num-layers); -1 = all
};

// One weight's adapter; values are f32 and trainable in place.
struct LoraAdapter {
  std::string weight_name;   // GGUF name of W, e.g. "blk.3.attn_q.weight"
  Tensor a;                  // f32 {rank, in}
  Tensor b;                  // f32 {out, rank}
  Tensor magnitude;          // DoRA: f32 {out}; empty for plain LoRA
  float scale = 1.0f;
  float dropout = 0.0f;
  int64_t rank() const { return a.dim(0); }
};

class AdapterSet {
 public:
  AdapterSet() = default;
  // Adapters read from a file (adapters/adapter_file.h); bind() them before use.
  AdapterSet(LoraConfig config, std::vector<LoraAdapter> adapters)
      : config_(std::move(config)), adapters_(std::move(adapters)) {}
  // Fresh adapters on the model's weights selected by `config`: A ~ U(-1/sqrt(in), 1/sqrt(in))
  // (MLX LM's init), B = 0 (so the adapted model starts equal to the base); DoRA's m = the row
  // norms of W. Throws Error naming a target that matches no weight.
  static AdapterSet create(const ModelSource& model, const LoraConfig& config, uint64_t seed);

  const LoraConfig& config() const { return config_; }
  std::vector<LoraAdapter>& adapters() { return adapters_; }
  const std::vector<LoraAdapter>& adapters() const { return adapters_; }
  // The adapter on `weight` (the model's Tensor, as ModelSource::require returns it), or null.
  const LoraAdapter* find(const Tensor* weight) const;
  // Binds adapters to the tensors of `model` by weight_name (after create/load, and again if
  // the model source is replaced); throws Error for a weight_name the model lacks or a shape
  // that does not fit.
  void bind(const ModelSource& model);
  int64_t parameter_count() const;

 private:
  LoraConfig config_;
  std::vector<LoraAdapter> adapters_;
  std::map<const Tensor*, size_t> by_weight_;
};

// Row scale of DoRA: factor[r] = m[r] / ||W_r + scale (B A)_r|| (f32 {out}). Recomputed by the
// caller whenever A, B or m change (once per optimizer step in training, once at load time in
// inference).
void dora_row_factor(const Tensor& w, const LoraAdapter& adapter, float* factor);

// y[n, out] += the adapter path for x[n, in] (LoRA), or y = factor * (y + path) for DoRA, where
// y already holds x W^T. `lora_x`, if given, receives x A^T ({n, rank}, before the scale), which
// training keeps for the backward; `factor` is dora_row_factor's output (DoRA only). x A^T
// goes through backend.matmul (so `in` must suit the backend, as for W itself).
void lora_forward(Backend& backend, const LoraAdapter& adapter, const float* x, float* y, int64_t n,
                  const float* factor = nullptr, float* lora_x = nullptr);

// A Backend that runs another one and adds each adapted weight's low-rank path to its matmuls
// (inference with `--adapter-path`). DoRA factors are computed once, at construction.
std::unique_ptr<Backend> make_adapted_backend(std::shared_ptr<Backend> base, std::shared_ptr<const AdapterSet> adapters,
                                              const ModelSource& model);

}  // namespace orchard
