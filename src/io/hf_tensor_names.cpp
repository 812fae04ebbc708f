#include "io/hf_tensor_names.h"

#include <cstdint>

namespace orchard {
namespace {

struct NamePair {
  std::string_view hf, gguf;
};

constexpr NamePair kGlobal[] = {
    {"model.embed_tokens.weight", "token_embd.weight"},
    {"model.norm.weight", "output_norm.weight"},
    {"lm_head.weight", "output.weight"},
};

// Modules inside model.layers.N.; each takes a ".weight" or ".bias" suffix.
constexpr NamePair kLayer[] = {
    {"input_layernorm", "attn_norm"},
    {"self_attn.q_proj", "attn_q"},
    {"self_attn.k_proj", "attn_k"},
    {"self_attn.v_proj", "attn_v"},
    {"self_attn.o_proj", "attn_output"},
    {"self_attn.q_norm", "attn_q_norm"},
    {"self_attn.k_norm", "attn_k_norm"},
    {"post_attention_layernorm", "ffn_norm"},
    {"mlp.gate_proj", "ffn_gate"},
    {"mlp.up_proj", "ffn_up"},
    {"mlp.down_proj", "ffn_down"},
};

constexpr std::string_view kLayerPrefix = "model.layers.";

// Splits "model.layers.N.REST" into N and REST.
std::optional<std::pair<int64_t, std::string_view>> split_layer(std::string_view name) {
  if (!name.starts_with(kLayerPrefix)) return std::nullopt;
  name.remove_prefix(kLayerPrefix.size());
  size_t digits = 0;
  int64_t layer = 0;
  while (digits < name.size() && name[digits] >= '0' && name[digits] <= '9') {
    if (digits == 9) return std::nullopt;  // no model has a billion layers
    layer = layer * 10 + (name[digits++] - '0');
  }
  if (digits == 0 || digits == name.size() || name[digits] != '.') return std::nullopt;
  return std::pair{layer, name.substr(digits + 1)};
}

}  // namespace

std::optional<GgufTensorName> gguf_tensor_name(std::string_view hf_name) {
  for (const auto& p : kGlobal)
    if (p.hf == hf_name) return GgufTensorName{std::string(p.gguf), std::nullopt};
  auto split = split_layer(hf_name);
  if (!split) return std::nullopt;
  auto [layer, rest] = *split;
  for (std::string_view suffix : {".weight", ".bias"}) {
    if (!rest.ends_with(suffix)) continue;
    std::string_view module = rest.substr(0, rest.size() - suffix.size());
    for (const auto& p : kLayer)
      if (p.hf == module)
        return GgufTensorName{"blk." + std::to_string(layer) + "." + std::string(p.gguf) + std::string(suffix), layer};
  }
  return std::nullopt;
}

std::optional<std::string> hf_tensor_name(std::string_view gguf_name) {
  for (const auto& p : kGlobal)
    if (p.gguf == gguf_name) return std::string(p.hf);
  constexpr std::string_view kBlock = "blk.";
  if (!gguf_name.starts_with(kBlock)) return std::nullopt;
  const size_t dot = gguf_name.find('.', kBlock.size());
  if (dot == std::string_view::npos) return std::nullopt;
  const std::string_view layer = gguf_name.substr(kBlock.size(), dot - kBlock.size());
  const std::string hf = std::string(kLayerPrefix) + std::string(layer) + ".";
  // Round trip through the forward mapping, so the one table above stays the only definition.
  const std::string_view rest = gguf_name.substr(dot + 1);
  for (std::string_view suffix : {".weight", ".bias"}) {
    if (!rest.ends_with(suffix)) continue;
    const std::string_view module = rest.substr(0, rest.size() - suffix.size());
    for (const auto& p : kLayer)
      if (p.gguf == module) {
        std::string name = hf + std::string(p.hf) + std::string(suffix);
        const auto back = gguf_tensor_name(name);
        if (back && back->name == gguf_name) return name;
      }
  }
  return std::nullopt;
}

bool is_ignored_hf_tensor(std::string_view hf_name) {
  auto split = split_layer(hf_name);
  return split && split->second == "self_attn.rotary_emb.inv_freq";
}

}  // namespace orchard
