#pragma once
// The decoder shared by the Llama-like families: token embedding, n_layer blocks of
// (RMSNorm -> GQA attention with rotary positions -> residual, RMSNorm -> SwiGLU MLP ->
// residual), final RMSNorm and the LM head (the embedding itself when tied). Family files set
// the variant flags in ModelConfig (qkv bias, per-head q/k RMSNorm, rope style) and build it.
#include <memory>
#include <vector>

#include "models/model.h"

namespace orchard {

class Transformer final : public Model {
 public:
  // Validates every tensor against `config` (errors name the file and tensor).
  Transformer(std::shared_ptr<const ModelSource> source, ModelConfig config, std::shared_ptr<Backend> backend);
  void forward(const Batch& batch, KvCache& cache, std::vector<float>& logits) override;

 private:
  struct Layer {
    const Tensor *attn_norm, *wq, *wk, *wv, *wo;
    const Tensor *bq = nullptr, *bk = nullptr, *bv = nullptr;          // qkv_bias
    const Tensor *q_norm = nullptr, *k_norm = nullptr;                  // qk_norm
    const Tensor *ffn_norm, *w_gate, *w_up, *w_down;
  };

  const Tensor* weight(const std::string& name);
  void check_batch(const Batch& batch, const KvCache& cache) const;
  void attention_block(const Layer& w, int64_t layer, const Batch& batch, KvCache& cache);
  void mlp_block(const Layer& w, int64_t n);
  void lm_head(const Batch& batch, std::vector<float>& logits);

  std::vector<Layer> layers_;
  const Tensor *token_embd_, *output_norm_, *output_;
  // Norm weights and biases converted to f32 when the file stores them otherwise (HF f16/bf16).
  std::vector<std::unique_ptr<Tensor>> converted_;
  std::vector<float> inv_freq_;
  RopeTable rope_;

  // Activations, grown to the largest batch seen and reused (no allocation per call).
  std::vector<float> x_, h_, q_, k_, v_, attn_, gate_, up_;
  std::vector<const void*> k_rows_, v_rows_;  // per token: its sequence's cache for this layer
};

}  // namespace orchard
