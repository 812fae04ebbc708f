// Qwen3 (dense): no qkv bias; instead an RMSNorm over each head of Q and K before rotary,
// and a head size that need not be embedding_length / head_count.
#include "models/config.h"
#include "models/transformer.h"

namespace orchard {

namespace {

std::unique_ptr<Model> build_qwen3(std::shared_ptr<const ModelSource> source, std::shared_ptr<Backend> backend) {
  ModelConfig config = read_config(*source);
  config.rope_style = RopeStyle::Neox;  // in GGUF too: llama.cpp keeps Qwen's rotate-half layout
  config.qk_norm = true;
  return std::make_unique<Transformer>(std::move(source), std::move(config), std::move(backend));
}

}  // namespace

void register_qwen3() { register_architecture("qwen3", build_qwen3); }

}  // namespace orchard
