// A test model as a Hugging Face folder: config.json + model.safetensors (+ tokenizer files).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "quant/quant.h"
#include "models/testmodel.h"

namespace orchard {

namespace {

using nlohmann::json;

// GGUF tensor name -> transformers' name ("blk.3.attn_q.weight" -> "model.layers.3.self_attn.q_proj.weight").
std::string hf_tensor_name(const std::string& gguf) {
  static const std::pair<const char*, const char*> kGlobal[] = {
      {"token_embd.weight", "model.embed_tokens.weight"},
      {"output_norm.weight", "model.norm.weight"},
      {"output.weight", "lm_head.weight"},
  };
  static const std::pair<const char*, const char*> kLayer[] = {
      {"attn_norm.weight", "input_layernorm.weight"},     {"attn_q.weight", "self_attn.q_proj.weight"},
      {"attn_k.weight", "self_attn.k_proj.weight"},       {"attn_v.weight", "self_attn.v_proj.weight"},
      {"attn_q.bias", "self_attn.q_proj.bias"},           {"attn_k.bias", "self_attn.k_proj.bias"},
      {"attn_v.bias", "self_attn.v_proj.bias"},           {"attn_q_norm.weight", "self_attn.q_norm.weight"},
      {"attn_k_norm.weight", "self_attn.k_norm.weight"},  {"attn_output.weight", "self_attn.o_proj.weight"},
      {"ffn_norm.weight", "post_attention_layernorm.weight"}, {"ffn_gate.weight", "mlp.gate_proj.weight"},
      {"ffn_up.weight", "mlp.up_proj.weight"},            {"ffn_down.weight", "mlp.down_proj.weight"},
  };
  for (const auto& [from, to] : kGlobal)
    if (gguf == from) return to;
  const size_t dot = gguf.find('.', 4);  // after "blk.N"
  const std::string layer = gguf.substr(4, dot - 4), rest = gguf.substr(dot + 1);
  for (const auto& [from, to] : kLayer)
    if (rest == from) return "model.layers." + layer + "." + to;
  throw Error("test models: no Hugging Face name for tensor '" + gguf + "'");
}

std::string torch_dtype(DType dtype) {
  switch (dtype) {
    case DType::F32: return "float32";
    case DType::F16: return "float16";
    case DType::BF16: return "bfloat16";
    default:
      throw Error("test models: a Hugging Face folder holds f32, f16 or bf16 weights, not " +
                  std::string(dtype_name(dtype)) + "; write a .gguf file for quantized types");
  }
}

// The shortest decimal that reads back as `f`, so config.json says 1e-06, not 9.99999997e-07.
double shortest_decimal(float f) {
  for (int digits = 6;; ++digits) {
    char text[32];
    std::snprintf(text, sizeof text, "%.*g", digits, static_cast<double>(f));
    const double parsed = std::strtod(text, nullptr);
    if (static_cast<float>(parsed) == f || digits == 9) return parsed;
  }
}

json config_json(const ModelConfig& c, const Metadata& tokenizer, DType dtype) {
  static const std::map<std::string, std::string> kClass = {
      {"llama", "LlamaForCausalLM"}, {"qwen2", "Qwen2ForCausalLM"}, {"qwen3", "Qwen3ForCausalLM"}};
  json j = {
      {"architectures", {kClass.at(c.architecture)}},
      {"model_type", c.architecture},
      {"vocab_size", c.n_vocab},
      {"hidden_size", c.n_embd},
      {"intermediate_size", c.n_ff},
      {"num_hidden_layers", c.n_layer},
      {"num_attention_heads", c.n_head},
      {"num_key_value_heads", c.n_head_kv},
      {"head_dim", c.head_dim},
      {"max_position_embeddings", c.context_length},
      {"rms_norm_eps", shortest_decimal(c.rms_eps)},
      {"rope_theta", shortest_decimal(c.rope_theta)},
      {"rope_scaling", nullptr},
      {"tie_word_embeddings", c.tied_embeddings},
      {"hidden_act", "silu"},
      {"torch_dtype", torch_dtype(dtype)},
  };
  if (c.architecture != "qwen2") j["attention_bias"] = c.qkv_bias;  // Qwen2 always has q/k/v biases
  if (c.rope_scaling == RopeScaling::Linear) j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", shortest_decimal(c.rope_factor)}};
  if (c.rope_scaling == RopeScaling::Llama3)
    j["rope_scaling"] = {{"rope_type", "llama3"},
                         {"factor", shortest_decimal(c.rope_factor)},
                         {"low_freq_factor", shortest_decimal(c.rope_low_freq_factor)},
                         {"high_freq_factor", shortest_decimal(c.rope_high_freq_factor)},
                         {"original_max_position_embeddings", c.rope_original_context}};
  if (auto bos = tokenizer.get_int("tokenizer.ggml.bos_token_id")) j["bos_token_id"] = *bos;
  if (auto eos = tokenizer.get_int("tokenizer.ggml.eos_token_id")) j["eos_token_id"] = *eos;
  return j;
}

void write_text_file(const std::string& path, const std::string& text) {
  AtomicFile out(path);
  out.write(text);
  out.commit();
}

void copy_file(const std::string& from, const std::string& to) {
  std::ifstream in(from, std::ios::binary);
  if (!in) throw file_error(from, "cannot read");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  write_text_file(to, bytes.str());
}

bool is_mlx_type(DType t) { return !dtype_info(t).gguf && is_quantized(t); }
int mlx_bits(DType t) { return static_cast<int>((dtype_info(t).type_size - 2 * sizeof(float)) * 8 / dtype_info(t).block_size); }

// As mlx_lm.convert -q of an f16 model: every matrix whose rows are whole groups (linears and
// the embedding) becomes X.weight (uint32 words of quants), X.scales and X.biases in f16;
// the quants are computed from the f16 weights with float scales, then the scales rounded to
// f16, as mlx's affine_quantize does. Other tensors stay f16.
void add_mlx_quantized(std::map<std::string, Tensor>& tensors, const std::string& name, const Tensor& w, DType type) {
  const int64_t group = dtype_info(type).block_size;
  if (w.ndim() != 2 || w.cols() % group != 0) {
    tensors[name] = w;
    return;
  }
  const std::string module = name.substr(0, name.size() - std::string_view(".weight").size());
  const int64_t rows = w.rows(), cols = w.cols(), groups = cols / group;
  const size_t block_bytes = dtype_info(type).type_size, quant_bytes = block_bytes - 2 * sizeof(float);
  Tensor words = Tensor::zeros(DType::I32, {rows, cols * mlx_bits(type) / 32});
  Tensor scales = Tensor::zeros(DType::F16, {rows, groups});
  Tensor biases = Tensor::zeros(DType::F16, {rows, groups});
  std::vector<float> row(static_cast<size_t>(cols));
  std::vector<uint8_t> blocks(row_bytes(type, cols));
  for (int64_t r = 0; r < rows; ++r) {
    dequantize_row(w.dtype(), w.row(r), row.data(), cols);
    quantize_row(type, row.data(), blocks.data(), cols);
    for (int64_t k = 0; k < groups; ++k) {
      const uint8_t* block = blocks.data() + k * block_bytes;
      float scale, bias;
      std::memcpy(&scale, block, sizeof(float));
      std::memcpy(&bias, block + sizeof(float), sizeof(float));
      scales.as<uint16_t>()[r * groups + k] = f32_to_f16(scale);
      biases.as<uint16_t>()[r * groups + k] = f32_to_f16(bias);
      std::memcpy(words.as<uint8_t>() + r * words.row_bytes() + k * quant_bytes, block + 2 * sizeof(float), quant_bytes);
    }
  }
  tensors[module + ".weight"] = std::move(words);
  tensors[module + ".scales"] = std::move(scales);
  tensors[module + ".biases"] = std::move(biases);
}

}  // namespace

void write_test_hf(const TestModelSpec& spec, const TestVocab& vocab, DType dtype, uint64_t seed,
                   const std::string& dir) {
  const ModelConfig c = resolve_test_config(spec, vocab);
  const bool mlx = is_mlx_type(dtype);
  const DType float_dtype = mlx ? DType::F16 : dtype;
  torch_dtype(float_dtype);  // rejects other quantized types before any work
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw file_error(dir, "cannot create folder: " + ec.message());

  // Everything in the layout HF uses: one dtype for all tensors, Q/K rows unpermuted.
  std::map<std::string, Tensor> tensors;
  for (const TensorSpec& t : decoder_tensors(c)) {
    Tensor w = test_weight(t, float_dtype, seed);
    if (mlx) add_mlx_quantized(tensors, hf_tensor_name(t.name), w, dtype);
    else tensors[hf_tensor_name(t.name)] = std::move(w);
  }
  const std::string base = dir + "/";
  write_safetensors(base + "model.safetensors", tensors, {{"format", "pt"}});

  json config = config_json(c, vocab.tokenizer, float_dtype);
  if (mlx) config["quantization"] = {{"group_size", dtype_info(dtype).block_size}, {"bits", mlx_bits(dtype)}};
  write_text_file(base + "config.json", config.dump(2) + "\n");
  json generation = {{"do_sample", false}};
  if (auto bos = vocab.tokenizer.get_int("tokenizer.ggml.bos_token_id")) generation["bos_token_id"] = *bos;
  if (auto eos = vocab.tokenizer.get_int("tokenizer.ggml.eos_token_id")) generation["eos_token_id"] = *eos;
  write_text_file(base + "generation_config.json", generation.dump(2) + "\n");
  if (vocab.tokenizer_json_path) copy_file(*vocab.tokenizer_json_path, base + "tokenizer.json");
  if (vocab.tokenizer_config_path) copy_file(*vocab.tokenizer_config_path, base + "tokenizer_config.json");
}

}  // namespace orchard
