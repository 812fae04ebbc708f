// orchard info MODEL: what a GGUF file or Hugging Face folder holds and what running it costs.
// Reads only metadata and tensor headers (no weights are touched), so it is instant on any size.
#include <cstdio>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "default_model.h"
#include "core/dtype.h"
#include "generation_flags.h"
#include "io/model_source.h"
#include "human_units.h"
#include "models/kv_cache.h"
#include "subcommand.h"

namespace orchard::cli {
namespace {

struct TypeCount {
  int64_t tensors = 0;
  size_t bytes = 0;
};

struct ModelInfo {
  std::string architecture;
  std::string format;
  size_t file_bytes = 0;
  int64_t parameters = 0;
  size_t weight_bytes = 0;
  std::map<std::string, TypeCount> types;  // by dtype name
  std::optional<int64_t> context, layers, heads, kv_heads, embedding, feed_forward, vocab, key_length, value_length;
  std::string tokenizer;  // tokenizer.ggml.model or tokenizer.json model.type; empty when unknown
  bool chat_template = false;
  DType kv_type = kDefaultKvType;  // of the estimate: --kv-type

  // K and V in kv_type for every layer at `tokens` positions, one sequence.
  std::optional<uint64_t> kv_cache_bytes(int64_t tokens) const {
    for (const auto& v : {layers, kv_heads, key_length, value_length})
      if (!v || *v <= 0) return std::nullopt;
    const int64_t block = dtype_info(kv_type).block_size;
    if (*key_length % block != 0 || *value_length % block != 0) return std::nullopt;  // the cache cannot hold it
    return static_cast<uint64_t>(*layers) * static_cast<uint64_t>(tokens) * static_cast<uint64_t>(*kv_heads) *
           (row_bytes(kv_type, *key_length) + row_bytes(kv_type, *value_length));
  }
};

ModelInfo describe(const ModelSource& src) {
  ModelInfo info;
  info.architecture = src.architecture;
  info.format = src.format == ModelFormat::Gguf ? "GGUF" : "Hugging Face folder";
  info.file_bytes = src.file_bytes;
  for (const auto& [name, t] : src.tensors) {
    info.parameters += t.numel();
    info.weight_bytes += t.nbytes();
    auto& c = info.types[std::string(dtype_name(t.dtype()))];
    c.tensors += 1;
    c.bytes += t.nbytes();
  }
  const Metadata& md = src.metadata;
  const std::string a = src.architecture + ".";
  info.context = md.get_int(a + "context_length");
  info.layers = md.get_int(a + "block_count");
  info.heads = md.get_int(a + "attention.head_count");
  info.kv_heads = md.get_int(a + "attention.head_count_kv");
  if (!info.kv_heads) info.kv_heads = info.heads;  // GGUF: absent means no grouped-query attention
  info.embedding = md.get_int(a + "embedding_length");
  info.feed_forward = md.get_int(a + "feed_forward_length");
  info.key_length = md.get_int(a + "attention.key_length");
  info.value_length = md.get_int(a + "attention.value_length");
  if (info.embedding && info.heads && *info.heads > 0) {  // GGUF default head size
    if (!info.key_length) info.key_length = *info.embedding / *info.heads;
    if (!info.value_length) info.value_length = *info.embedding / *info.heads;
  }
  info.vocab = md.get_int(a + "vocab_size");
  if (const auto* tokens = md.get_strings("tokenizer.ggml.tokens")) info.vocab = static_cast<int64_t>(tokens->size());
  else if (const Tensor* embd = src.find("token_embd.weight"); !info.vocab && embd && embd->ndim() == 2)
    info.vocab = embd->dim(0);

  if (auto model = md.get_string("tokenizer.ggml.model")) info.tokenizer = *model;
  else if (src.tokenizer_json && src.tokenizer_json->is_object()) {
    auto model = src.tokenizer_json->find("model");
    if (model != src.tokenizer_json->end() && model->is_object() && model->contains("type") && (*model)["type"].is_string())
      info.tokenizer = (*model)["type"].get<std::string>();
  }
  info.chat_template = md.has("tokenizer.chat_template");
  return info;
}

std::string count(const std::optional<int64_t>& v) { return v ? std::to_string(*v) : "?"; }

std::string memory_line(const ModelInfo& info, int64_t tokens) {
  auto kv = info.kv_cache_bytes(tokens);
  if (!kv) return human_bytes(info.weight_bytes) + " weights (KV cache size unknown)";
  return human_bytes(info.weight_bytes + *kv) + " (" + human_bytes(info.weight_bytes) + " weights + " + human_bytes(*kv) +
         " " + std::string(dtype_name(info.kv_type)) + " KV cache for " + std::to_string(tokens) + " tokens)";
}

void print_text(const std::string& path, const ModelInfo& info) {
  std::printf("model          %s (%s)\n", path.c_str(), info.format.c_str());
  std::printf("architecture   %s\n", info.architecture.c_str());
  std::printf("parameters     %s (%lld)\n", human_count(info.parameters).c_str(),
              static_cast<long long>(info.parameters));
  std::printf("file size      %s\n", human_bytes(info.file_bytes).c_str());
  std::printf("tensor types  ");
  for (const auto& [type, c] : info.types)
    std::printf(" %s: %lld (%s)", type.c_str(), static_cast<long long>(c.tensors), human_bytes(c.bytes).c_str());
  std::printf("%s\n", info.types.empty() ? " none" : "");
  std::printf("context        %s\n", count(info.context).c_str());
  std::printf("layers         %s\n", count(info.layers).c_str());
  std::printf("heads          %s (kv heads %s, head size %s)\n", count(info.heads).c_str(), count(info.kv_heads).c_str(),
              count(info.key_length).c_str());
  std::printf("embedding      %s\n", count(info.embedding).c_str());
  std::printf("feed forward   %s\n", count(info.feed_forward).c_str());
  std::printf("vocabulary     %s\n", count(info.vocab).c_str());
  if (info.context) std::printf("memory         %s\n", memory_line(info, *info.context).c_str());
  if (info.context != 4096) std::printf("memory @4096   %s\n", memory_line(info, 4096).c_str());
  std::printf("tokenizer      %s\n", info.tokenizer.empty() ? "none" : info.tokenizer.c_str());
  std::printf("chat template  %s\n", info.chat_template ? "yes" : "no");
}

void print_json(const std::string& path, const ModelInfo& info) {
  nlohmann::json j;
  j["path"] = path;
  j["format"] = info.format;
  j["architecture"] = info.architecture;
  j["parameters"] = info.parameters;
  j["file_bytes"] = info.file_bytes;
  j["weight_bytes"] = info.weight_bytes;
  for (const auto& [type, c] : info.types) j["tensor_types"][type] = {{"tensors", c.tensors}, {"bytes", c.bytes}};
  auto put = [&](const char* key, const std::optional<int64_t>& v) { j[key] = v ? nlohmann::json(*v) : nullptr; };
  put("context_length", info.context);
  put("layers", info.layers);
  put("heads", info.heads);
  put("kv_heads", info.kv_heads);
  put("head_size", info.key_length);
  put("embedding", info.embedding);
  put("feed_forward", info.feed_forward);
  put("vocab_size", info.vocab);
  auto kv_at = [&](int64_t tokens) { auto kv = info.kv_cache_bytes(tokens); return kv ? nlohmann::json(*kv) : nullptr; };
  j["kv_cache_type"] = dtype_name(info.kv_type);
  if (info.context) j["kv_cache_bytes_at_context"] = kv_at(*info.context);
  j["kv_cache_bytes_at_4096"] = kv_at(4096);
  j["tokenizer"] = info.tokenizer;
  j["chat_template"] = info.chat_template;
  std::printf("%s\n", j.dump(2).c_str());
}

const Register kInfo{{
    "info",
    "Show a model's architecture, size, hyperparameters, tokenizer and memory needs",
    [](CLI::App& cmd) -> std::function<int()> {
      auto path = std::make_shared<std::string>();
      auto json = std::make_shared<bool>(false);
      auto kv_type = std::make_shared<std::string>("f16");
      *path = default_model_path();
      cmd.add_option("model", *path, "GGUF file or Hugging Face model folder (default: the bundled model)")
          ->capture_default_str();
      cmd.add_flag("--json", *json, "Print one JSON object instead of text");
      add_kv_type_option(cmd, *kv_type);
      return [path, json, kv_type] {
        ModelSource src = open_model(*path);
        ModelInfo info = describe(src);
        info.kv_type = kv_type_from_name(*kv_type);
        if (*json) print_json(*path, info);
        else print_text(*path, info);
        return 0;
      };
    },
}};

}  // namespace
}  // namespace orchard::cli
