#include "io/hf_folder.h"

#include <filesystem>

#include "core/error.h"
#include "io/hf_config.h"
#include "io/hf_tensor_names.h"
#include "io/json_file.h"
#include "io/mlx_checkpoint.h"
#include "io/mmap.h"
#include "io/quantize_weights.h"
#include "io/safetensors.h"

namespace orchard {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct HfTensor {
  Tensor tensor;
  std::string file;  // the safetensors file it came from, for errors
};

struct Weights {
  std::map<std::string, HfTensor> tensors;  // by HF name
  size_t file_bytes = 0;
};

void add_file_tensors(const SafetensorsFile& file, Weights& w) {
  for (const auto& [name, t] : file.tensors()) w.tensors[name] = {t, file.path()};
}

// Shards named by model.safetensors.index.json's weight_map; every listed tensor must be in its shard.
Weights load_sharded(const fs::path& dir, const std::string& index_path) {
  json index = read_json_file(index_path);
  auto map_it = index.is_object() ? index.find("weight_map") : index.end();
  if (map_it == index.end() || !map_it->is_object())
    throw file_error(index_path, "missing the \"weight_map\" object");
  Weights w;
  std::map<std::string, std::shared_ptr<SafetensorsFile>> shards;
  for (const auto& [name, shard_json] : map_it->items()) {
    if (!shard_json.is_string()) throw file_error(index_path, "weight_map entry '" + name + "' must be a file name");
    const std::string shard = shard_json.get<std::string>();
    if (shard.empty() || fs::path(shard).filename() != shard)
      throw file_error(index_path, "weight_map entry '" + name + "' names '" + shard + "', not a file in the folder");
    auto& file = shards[shard];
    if (!file) {
      fs::path shard_path = dir / shard;
      if (!fs::exists(shard_path)) throw file_error(index_path, "shard '" + shard + "' does not exist");
      file = SafetensorsFile::open(shard_path.string());
      w.file_bytes += file->file_size();
    }
    auto t = file->tensors().find(name);
    if (t == file->tensors().end())
      throw file_error(index_path, "tensor '" + name + "' is listed in shard '" + shard + "' but is not in it");
    w.tensors[name] = {t->second, file->path()};
  }
  return w;
}

Weights load_weights(const fs::path& dir) {
  fs::path index = dir / "model.safetensors.index.json";
  if (fs::exists(index)) return load_sharded(dir, index.string());
  fs::path single = dir / "model.safetensors";
  if (!fs::exists(single))
    throw file_error(dir.string(), "no model.safetensors or model.safetensors.index.json in the folder");
  auto file = SafetensorsFile::open(single.string());
  Weights w;
  add_file_tensors(*file, w);
  w.file_bytes = file->file_size();
  return w;
}

// HF names -> GGUF names. Unknown names are errors: silently dropping a weight would load a broken model.
std::map<std::string, Tensor> rename_tensors(const Weights& w, const HfModelConfig& config,
                                             const std::string& config_file) {
  const int64_t n_layers = config.metadata.require_int(config.architecture + ".block_count");
  std::map<std::string, Tensor> out;
  for (const auto& [hf_name, entry] : w.tensors) {
    if (is_ignored_hf_tensor(hf_name)) continue;
    auto name = gguf_tensor_name(hf_name);
    if (!name) throw file_error(entry.file, "unknown tensor '" + hf_name + "' for a " + config.architecture + " model");
    if (name->layer && *name->layer >= n_layers)
      throw file_error(entry.file, "tensor '" + hf_name + "' is for layer " + std::to_string(*name->layer) +
                                       " but num_hidden_layers is " + std::to_string(n_layers));
    // GGUF convention: a missing output.weight means the output projection is token_embd.
    if (name->name == "output.weight" && config.tie_word_embeddings) continue;
    out[name->name] = entry.tensor;
  }
  if (!config.tie_word_embeddings && !out.count("output.weight"))
    throw file_error(config_file, "tie_word_embeddings is not set but the weights have no lm_head.weight");
  return out;
}

std::optional<json> read_optional_json(const fs::path& path) {
  if (!fs::exists(path)) return std::nullopt;
  return read_json_file(path.string());
}

// tokenizer_config.json's chat_template is a string, or a list of {name, template} where
// "default" is the main one (llama.cpp keeps the others as tokenizer.chat_template.NAME).
// Newer transformers save it beside the config as chat_template.jinja instead.
void add_chat_templates(const fs::path& dir, const std::optional<json>& tokenizer_config, Metadata& md) {
  const std::string file = (dir / "tokenizer_config.json").string();
  const json* templates = nullptr;
  if (tokenizer_config && tokenizer_config->is_object())
    if (auto it = tokenizer_config->find("chat_template"); it != tokenizer_config->end() && !it->is_null())
      templates = &*it;
  if (!templates) {
    fs::path jinja = dir / "chat_template.jinja";
    if (!fs::exists(jinja)) return;
    auto text = MappedFile::open(jinja.string());
    md.set("tokenizer.chat_template",
           MetaValue::string(std::string(reinterpret_cast<const char*>(text->data()), text->size())));
    return;
  }
  if (templates->is_string()) {
    md.set("tokenizer.chat_template", MetaValue::string(templates->get<std::string>()));
    return;
  }
  if (!templates->is_array()) throw file_error(file, "\"chat_template\" must be a string or a list of {name, template}");
  for (const auto& entry : *templates) {
    auto name = entry.is_object() ? entry.find("name") : entry.end();
    auto text = entry.is_object() ? entry.find("template") : entry.end();
    if (name == entry.end() || text == entry.end() || !name->is_string() || !text->is_string())
      throw file_error(file, "\"chat_template\" list entries must be {\"name\": string, \"template\": string}");
    const std::string key = *name == "default" ? "tokenizer.chat_template"
                                               : "tokenizer.chat_template." + name->get<std::string>();
    md.set(key, MetaValue::string(text->get<std::string>()));
  }
}

// MLX-quantized folders: each module's weight / scales / biases become one block tensor.
void repack_mlx(Weights& w, const MlxQuantization& q, const std::string& where) {
  std::map<std::string, Tensor> tensors;
  for (const auto& [name, entry] : w.tensors) tensors[name] = entry.tensor;
  repack_mlx_weights(tensors, q, where);
  std::map<std::string, HfTensor> repacked;
  for (auto& [name, t] : tensors) repacked[name] = {std::move(t), w.tensors.at(name).file};
  w.tensors = std::move(repacked);
}

}  // namespace

ModelSource open_hf_folder(const std::string& dir_name, const LoadOptions& options) {
  const fs::path dir(dir_name);
  const fs::path config_path = dir / "config.json";
  if (!fs::exists(config_path))
    throw file_error(dir_name, "no config.json: not a Hugging Face model folder (or pass a .gguf file)");
  const json config_json = read_json_file(config_path.string());
  HfModelConfig config = translate_hf_config(config_json, config_path.string());

  ModelSource src;
  src.path = dir_name;
  src.format = ModelFormat::HuggingFace;
  src.architecture = config.architecture;
  Weights weights = load_weights(dir);
  if (auto mlx = read_mlx_quantization(config_json, config_path.string())) repack_mlx(weights, *mlx, dir_name);
  src.file_bytes = weights.file_bytes;
  src.tensors = rename_tensors(weights, config, config_path.string());
  if (options.quantize) quantize_weights(src.tensors, *options.quantize);

  src.tokenizer_json = read_optional_json(dir / "tokenizer.json");
  src.tokenizer_config = read_optional_json(dir / "tokenizer_config.json");
  src.generation_config = read_optional_json(dir / "generation_config.json");
  add_chat_templates(dir, src.tokenizer_config, config.metadata);
  if (src.generation_config && src.generation_config->is_object())
    if (auto eos = hf_first_token_id(*src.generation_config, "eos_token_id", (dir / "generation_config.json").string()))
      config.metadata.set("tokenizer.ggml.eos_token_id", MetaValue::u32(static_cast<uint32_t>(*eos)));
  src.metadata = std::move(config.metadata);
  return src;
}

}  // namespace orchard
