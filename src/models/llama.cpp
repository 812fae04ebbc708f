// Llama 1/2/3/3.1/3.2, Mistral, SmolLM, TinyLlama: the plain decoder ("llama" in GGUF).
#include "models/config.h"
#include "models/transformer.h"

namespace orchard {

namespace {

std::unique_ptr<Model> build_llama(std::shared_ptr<const ModelSource> source, std::shared_ptr<Backend> backend) {
  ModelConfig config = read_config(*source);
  // llama.cpp's converter permutes the Q/K rows of llama models so that rotary pairs are
  // adjacent; Hugging Face weights keep the original rotate-half layout.
  config.rope_style = source->format == ModelFormat::Gguf ? RopeStyle::Interleaved : RopeStyle::Neox;
  // Some llama checkpoints carry q/k/v biases (HF attention_bias = true).
  config.qkv_bias = source->find(layer_tensor(0, "attn_q.bias")) != nullptr;
  return std::make_unique<Transformer>(std::move(source), std::move(config), std::move(backend));
}

}  // namespace

void register_llama() { register_architecture("llama", build_llama); }

}  // namespace orchard
