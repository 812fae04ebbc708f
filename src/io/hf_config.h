#pragma once
// Hugging Face config.json -> GGUF metadata, following llama.cpp's convert_hf_to_gguf.py key
// for key, so a model definition reads the same hyperparameters from either format:
//   max_position_embeddings -> {arch}.context_length     hidden_size -> {arch}.embedding_length
//   num_hidden_layers -> {arch}.block_count              intermediate_size -> {arch}.feed_forward_length
//   num_attention_heads / num_key_value_heads -> {arch}.attention.head_count / head_count_kv
//   head_dim (or hidden/heads) -> {arch}.attention.key_length, value_length, rope.dimension_count
//   rms_norm_eps -> {arch}.attention.layer_norm_rms_epsilon   rope_theta -> {arch}.rope.freq_base
//   rope_scaling -> {arch}.rope.scaling.{type, factor, original_context_length} (+ orchard's
//   low_freq_factor / high_freq_factor for "llama3")
//   bos_token_id / eos_token_id (first of a list) -> tokenizer.ggml.bos_token_id / eos_token_id
// Kept separate from the folder loader so it can be fuzzed on config text alone.
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "io/metadata.h"

namespace orchard {

struct HfModelConfig {
  std::string architecture;  // GGUF general.architecture: "llama", "qwen2", "qwen3"
  Metadata metadata;
  bool tie_word_embeddings = false;  // lm_head shares token_embd (no output.weight)
};

// Throws orchard::Error naming `file` and the field for unknown model types, missing or
// mistyped fields and impossible values (negative sizes, heads not dividing hidden_size, ...).
HfModelConfig translate_hf_config(const nlohmann::json& config, const std::string& file);
HfModelConfig translate_hf_config_text(std::string_view json_text, const std::string& file);

// A token id field that HF writes as an integer or a list of integers (eos_token_id): the
// first id, nullopt when absent or null.
std::optional<int64_t> hf_first_token_id(const nlohmann::json& obj, const std::string& key, const std::string& file);

}  // namespace orchard
