#pragma once
// Hugging Face parameter names -> GGUF tensor names (llama.cpp's tensor_mapping.py for the
// llama/qwen families): model.embed_tokens.weight -> token_embd.weight,
// model.layers.N.self_attn.q_proj.weight -> blk.N.attn_q.weight, ...
#include <optional>
#include <string>
#include <string_view>

namespace orchard {

struct GgufTensorName {
  std::string name;
  std::optional<int64_t> layer;  // N for blk.N.* tensors
};

// nullopt for names orchard does not know (the loader reports them).
std::optional<GgufTensorName> gguf_tensor_name(std::string_view hf_name);
// The reverse: GGUF name -> Hugging Face name (adapter files name weights the HF way).
std::optional<std::string> hf_tensor_name(std::string_view gguf_name);
// Buffers some checkpoints save that carry no weights (rotary_emb.inv_freq: recomputed from config).
bool is_ignored_hf_tensor(std::string_view hf_name);

}  // namespace orchard
