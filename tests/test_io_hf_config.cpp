// config.json -> GGUF metadata, checked against the values llama.cpp's converter writes for
// the published GGUF conversions of these models (configs as published on Hugging Face).
#include <gtest/gtest.h>

#include "core/error.h"
#include "io/hf_config.h"

namespace orchard {
namespace {

constexpr const char* kTinyLlama = R"({
  "architectures": ["LlamaForCausalLM"], "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu",
  "hidden_size": 2048, "initializer_range": 0.02, "intermediate_size": 5632, "max_position_embeddings": 2048,
  "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 22, "num_key_value_heads": 4,
  "pretraining_tp": 1, "rms_norm_eps": 1e-05, "rope_scaling": null, "rope_theta": 10000.0,
  "tie_word_embeddings": false, "torch_dtype": "bfloat16", "transformers_version": "4.35.0",
  "use_cache": true, "vocab_size": 32000})";

constexpr const char* kLlama32 = R"({
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 128000, "eos_token_id": 128001, "head_dim": 64, "hidden_act": "silu", "hidden_size": 2048,
  "initializer_range": 0.02, "intermediate_size": 8192, "max_position_embeddings": 131072, "mlp_bias": false,
  "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 16, "num_key_value_heads": 8,
  "pretraining_tp": 1, "rms_norm_eps": 1e-05,
  "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "rope_theta": 500000.0, "tie_word_embeddings": true, "torch_dtype": "bfloat16", "use_cache": true,
  "vocab_size": 128256})";

constexpr const char* kQwen3 = R"({
  "architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 151643, "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu", "hidden_size": 1024,
  "initializer_range": 0.02, "intermediate_size": 3072, "max_position_embeddings": 40960, "max_window_layers": 28,
  "model_type": "qwen3", "num_attention_heads": 16, "num_hidden_layers": 28, "num_key_value_heads": 8,
  "rms_norm_eps": 1e-06, "rope_scaling": null, "rope_theta": 1000000, "sliding_window": null,
  "tie_word_embeddings": true, "torch_dtype": "bfloat16", "use_cache": true, "use_sliding_window": false,
  "vocab_size": 151936})";

constexpr const char* kQwen25 = R"({
  "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643, "eos_token_id": 151645,
  "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02, "intermediate_size": 4864,
  "max_position_embeddings": 32768, "max_window_layers": 21, "model_type": "qwen2", "num_attention_heads": 14,
  "num_hidden_layers": 24, "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
  "sliding_window": 32768, "tie_word_embeddings": true, "torch_dtype": "bfloat16", "use_cache": true,
  "use_sliding_window": false, "vocab_size": 151936})";

struct Expected {
  const char* config;
  const char* arch;
  int64_t ctx, embd, blocks, ff, heads, kv_heads, head_dim;
  float eps, theta;
  bool tied;
};

TEST(HfConfig, MatchesLlamaCppConversions) {
  const Expected cases[] = {
      {kTinyLlama, "llama", 2048, 2048, 22, 5632, 32, 4, 64, 1e-5f, 10000.0f, false},
      {kLlama32, "llama", 131072, 2048, 16, 8192, 32, 8, 64, 1e-5f, 500000.0f, true},
      {kQwen3, "qwen3", 40960, 1024, 28, 3072, 16, 8, 128, 1e-6f, 1e6f, true},
      {kQwen25, "qwen2", 32768, 896, 24, 4864, 14, 2, 64, 1e-6f, 1e6f, true},
  };
  for (const auto& c : cases) {
    HfModelConfig cfg = translate_hf_config_text(c.config, "config.json");
    const Metadata& md = cfg.metadata;
    const std::string a = std::string(c.arch) + ".";
    EXPECT_EQ(cfg.architecture, c.arch);
    EXPECT_EQ(md.get_string("general.architecture"), c.arch);
    EXPECT_EQ(md.get_int(a + "context_length"), c.ctx) << c.arch;
    EXPECT_EQ(md.get_int(a + "embedding_length"), c.embd) << c.arch;
    EXPECT_EQ(md.get_int(a + "block_count"), c.blocks) << c.arch;
    EXPECT_EQ(md.get_int(a + "feed_forward_length"), c.ff) << c.arch;
    EXPECT_EQ(md.get_int(a + "attention.head_count"), c.heads) << c.arch;
    EXPECT_EQ(md.get_int(a + "attention.head_count_kv"), c.kv_heads) << c.arch;
    EXPECT_EQ(md.get_int(a + "attention.key_length"), c.head_dim) << c.arch;
    EXPECT_EQ(md.get_int(a + "attention.value_length"), c.head_dim) << c.arch;
    EXPECT_EQ(md.get_int(a + "rope.dimension_count"), c.head_dim) << c.arch;
    EXPECT_EQ(md.get_float(a + "attention.layer_norm_rms_epsilon"), static_cast<double>(c.eps)) << c.arch;
    EXPECT_EQ(md.get_float(a + "rope.freq_base"), static_cast<double>(c.theta)) << c.arch;
    EXPECT_EQ(md.find(a + "block_count")->type, GgufType::U32);
    EXPECT_EQ(md.find(a + "rope.freq_base")->type, GgufType::F32);
    EXPECT_EQ(cfg.tie_word_embeddings, c.tied) << c.arch;
  }
  const Metadata md = translate_hf_config_text(kLlama32, "config.json").metadata;
  EXPECT_EQ(md.get_string("llama.rope.scaling.type"), "llama3");
  EXPECT_EQ(md.get_float("llama.rope.scaling.factor"), 32.0);
  EXPECT_EQ(md.get_int("llama.rope.scaling.original_context_length"), 8192);
  EXPECT_EQ(md.get_float("llama.rope.scaling.low_freq_factor"), 1.0);
  EXPECT_EQ(md.get_float("llama.rope.scaling.high_freq_factor"), 4.0);
  EXPECT_EQ(md.get_int("tokenizer.ggml.bos_token_id"), 128000);
  EXPECT_EQ(md.get_int("tokenizer.ggml.eos_token_id"), 128001);
  EXPECT_FALSE(translate_hf_config_text(kTinyLlama, "c").metadata.has("llama.rope.scaling.type"));
}

TEST(HfConfig, AppliesTransformersDefaultsAndOtherScalingTypes) {
  HfModelConfig m = translate_hf_config_text(R"({"model_type": "mistral", "hidden_size": 64, "intermediate_size": 128,
    "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100, "eos_token_id": [7, 8],
    "rope_scaling": {"type": "linear", "factor": 4}})", "config.json");
  EXPECT_EQ(m.architecture, "llama");
  EXPECT_EQ(m.metadata.get_int("llama.attention.head_count_kv"), 4);
  EXPECT_EQ(m.metadata.get_int("llama.attention.key_length"), 16);
  EXPECT_EQ(m.metadata.get_int("llama.context_length"), 32768);
  EXPECT_EQ(m.metadata.get_float("llama.rope.freq_base"), 10000.0);
  EXPECT_EQ(m.metadata.get_string("llama.rope.scaling.type"), "linear");
  EXPECT_EQ(m.metadata.get_float("llama.rope.scaling.factor"), 4.0);
  EXPECT_EQ(m.metadata.get_int("tokenizer.ggml.eos_token_id"), 7);
  EXPECT_FALSE(m.tie_word_embeddings);

  HfModelConfig y = translate_hf_config_text(R"({"model_type": "qwen2", "hidden_size": 64, "intermediate_size": 128,
    "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100,
    "rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768}})", "config.json");
  EXPECT_EQ(y.metadata.get_string("qwen2.rope.scaling.type"), "yarn");
  EXPECT_EQ(y.metadata.get_int("qwen2.rope.scaling.original_context_length"), 32768);
}

void expect_error(const std::string& json_text, const std::string& fragment) {
  try {
    translate_hf_config_text(json_text, "my/config.json");
    ADD_FAILURE() << "accepted: " << json_text;
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("my/config.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find(fragment), std::string::npos) << "expected '" << fragment << "' in: " << msg;
  }
}

TEST(HfConfig, RejectsBadConfigsNamingTheField) {
  const std::string base = R"("hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "vocab_size": 100)";
  expect_error(R"({"model_type": "gpt2", )" + base + "}", "supported: llama, mistral, qwen2, qwen3");
  expect_error("{" + base + R"(, "num_attention_heads": 4})", "\"model_type\" is missing");
  expect_error(R"({"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4})", "is missing");
  expect_error(R"({"model_type": "llama", )" + base + R"(, "num_attention_heads": -4})", "\"num_attention_heads\"");
  expect_error(R"({"model_type": "llama", )" + base + R"(, "num_attention_heads": "4"})", "must be an integer");
  expect_error(R"({"model_type": "llama", )" + base + R"(, "num_attention_heads": 4.5})", "must be an integer");
  expect_error(R"({"model_type": "llama", )" + base + R"(, "num_attention_heads": 0})", "positive");
  expect_error(R"({"model_type": "llama", )" + base + R"(, "num_attention_heads": 5})", "must divide hidden_size");
  expect_error(R"({"model_type": "llama", )" + base + R"(, "num_attention_heads": 4, "num_key_value_heads": 3})",
               "must divide num_attention_heads");
  expect_error(R"({"model_type": "llama", )" + base + R"(, "num_attention_heads": 4, "rms_norm_eps": -1})",
               "rms_norm_eps");
  expect_error(R"({"model_type": "llama", )" + base + R"(, "num_attention_heads": 4, "rope_scaling": {"rope_type": "longrope", "factor": 2}})",
               "rope_scaling.rope_type");
  expect_error(R"({"model_type": "llama", )" + base + R"(, "num_attention_heads": 4, "rope_scaling": {"rope_type": "llama3", "factor": 8}})",
               "rope_scaling.original_max_position_embeddings");
  expect_error(R"({"model_type": "llama", )" + base + R"(, "num_attention_heads": 4, "rope_scaling": 3})", "rope_scaling");
  expect_error(R"({"model_type": "llama", )" + base + R"(, "num_attention_heads": 4, "eos_token_id": "x"})",
               "eos_token_id");
  expect_error(R"({"model_type": "llama", )" + base + R"(, "num_attention_heads": 4, "tie_word_embeddings": 1})",
               "tie_word_embeddings");
  expect_error("[]", "JSON object");
  expect_error("{\"model_type\": \"llama\",\n  \"hidden_size\": 64,,}", "line 2");
}

}  // namespace
}  // namespace orchard
