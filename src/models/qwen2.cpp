// Qwen2 / Qwen2.5: the llama decoder with a bias on the Q, K and V projections.
#include "models/config.h"
#include "models/transformer.h"

namespace orchard {

namespace {

std::unique_ptr<Model> build_qwen2(std::shared_ptr<const ModelSource> source, std::shared_ptr<Backend> backend) {
  ModelConfig config = read_config(*source);
  config.rope_style = RopeStyle::Neox;  // in GGUF too: llama.cpp keeps Qwen's rotate-half layout
  config.qkv_bias = true;
  return std::make_unique<Transformer>(std::move(source), std::move(config), std::move(backend));
}

}  // namespace

void register_qwen2() { register_architecture("qwen2", build_qwen2); }

}  // namespace orchard
