#include "adapters/adapter_file.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/hf_tensor_names.h"
#include "io/json_file.h"
#include "io/safetensors.h"
#include "models/config.h"
#include "models/rope.h"
#include "quant/quant.h"

namespace orchard {

namespace fs = std::filesystem;

namespace {

enum class Layout { MlxLm, Peft };

constexpr const char* kMlxWeights = "adapters.safetensors";
constexpr const char* kPeftWeights = "adapter_model.safetensors";
constexpr const char* kConfigFile = "adapter_config.json";
constexpr std::string_view kPeftPrefix = "base_model.model.";

// Tensor-name suffixes of one adapter's parts in each layout.
struct PartNames {
  std::string_view a, b, m;
};
constexpr PartNames kMlxParts{".lora_a", ".lora_b", ".m"};
constexpr PartNames kPeftParts{".lora_A.weight", ".lora_B.weight", ".lora_magnitude_vector"};

// The HF row of each of the base's stored rows of `weight_name`, or empty when they coincide:
// only llama GGUF files carry llama.cpp's Q/K permutation.
std::vector<int64_t> stored_row_order(const ModelSource& base, const std::string& weight_name, int64_t rows) {
  if (base.format != ModelFormat::Gguf || base.architecture != "llama") return {};
  if (!weight_name.ends_with(".attn_q.weight") && !weight_name.ends_with(".attn_k.weight")) return {};
  const int64_t head_dim = read_config(base).head_dim;
  return interleave_rope_rows(rows / head_dim, head_dim);
}

// "blk.3.attn_q.weight" -> "model.layers.3.self_attn.q_proj" (the module the adapter sits on).
std::string hf_module(const std::string& weight_name) {
  const auto hf = hf_tensor_name(weight_name);
  if (!hf || !hf->ends_with(".weight")) throw Error("adapter on '" + weight_name + "': no Hugging Face name for it");
  return hf->substr(0, hf->size() - std::string_view(".weight").size());
}

// An owned f32 copy (adapters are trained in place; the file is mapped read-only).
Tensor to_f32(const Tensor& t, const std::string& path, const std::string& name) {
  if (t.dtype() != DType::F32 && t.dtype() != DType::F16 && t.dtype() != DType::BF16)
    throw file_error(path, "tensor '" + name + "' is " + std::string(dtype_name(t.dtype())) + ", not f32/f16/bf16");
  Tensor out = Tensor::zeros(DType::F32, t.shape());
  dequantize_row(t.dtype(), t.data(), out.f32(), t.numel());
  return out;
}

Tensor transposed(const Tensor& t) {
  Tensor out = Tensor::zeros(DType::F32, {t.dim(1), t.dim(0)});
  const float* src = t.f32();
  float* dst = out.f32();
  for (int64_t r = 0; r < t.dim(0); ++r)
    for (int64_t c = 0; c < t.dim(1); ++c) dst[c * t.dim(0) + r] = src[r * t.dim(1) + c];
  return out;
}

// Rows reordered: to_stored picks out[r] = in[order[r]]; otherwise out[order[r]] = in[r].
Tensor reorder_rows(const Tensor& t, const std::vector<int64_t>& order, bool to_stored) {
  if (order.empty()) return t;
  Tensor out = Tensor::zeros(DType::F32, t.shape());
  const int64_t cols = t.ndim() == 1 ? 1 : t.dim(1);
  for (int64_t r = 0; r < static_cast<int64_t>(order.size()); ++r) {
    const int64_t from = to_stored ? order[r] : r, to = to_stored ? r : order[r];
    std::memcpy(out.f32() + to * cols, t.f32() + from * cols, cols * sizeof(float));
  }
  return out;
}

Layout layout_of_config(const nlohmann::json& j, const std::string& path) {
  if (!j.is_object()) throw file_error(path, "not a JSON object");
  if (j.contains("lora_parameters")) return Layout::MlxLm;
  if (j.contains("peft_type") || j.contains("r")) return Layout::Peft;
  throw file_error(path, "neither an MLX LM (lora_parameters) nor a PEFT (peft_type, r) adapter config");
}

Layout layout_of_weights(const SafetensorsFile& file) {
  for (const auto& [name, t] : file.tensors())
    if (name.ends_with(kPeftParts.a) || name.ends_with(kPeftParts.b)) return Layout::Peft;
  return Layout::MlxLm;
}

// Every adapter in a weights file, keyed by the base's weight name, in orchard's layout (A
// {rank, in}, B {out, rank} with the base's row order), checked against the base's weights.
std::map<std::string, LoraAdapter> read_adapter_tensors(const ModelSource& base, const std::string& path,
                                                        Layout layout) {
  const auto file = SafetensorsFile::open(path);
  const PartNames& parts = layout == Layout::MlxLm ? kMlxParts : kPeftParts;
  const auto& tensors = file->tensors();
  auto get = [&](const std::string& name) -> std::optional<Tensor> {
    const auto it = tensors.find(name);
    if (it == tensors.end()) return std::nullopt;
    return to_f32(it->second, path, name);
  };
  std::map<std::string, LoraAdapter> out;
  for (const auto& [name, tensor] : tensors) {
    if (!name.ends_with(parts.a)) continue;
    std::string module = name.substr(0, name.size() - parts.a.size());
    const std::string stem = module;
    if (layout == Layout::Peft && module.starts_with(kPeftPrefix)) module.erase(0, kPeftPrefix.size());
    const auto gguf = gguf_tensor_name(module + ".weight");
    const Tensor* w = gguf ? base.find(gguf->name) : nullptr;
    if (!w) throw file_error(path, "tensor '" + name + "' adapts '" + module + "', which " + base.path + " lacks");
    if (w->ndim() != 2) throw file_error(path, "tensor '" + name + "': '" + module + "' is not a matrix");
    const int64_t out_features = w->dim(0), in_features = w->dim(1);
    const auto b = get(stem + std::string(parts.b));
    if (!b) throw file_error(path, "tensor '" + name + "' has no '" + stem + std::string(parts.b) + "'");
    Tensor a = *get(name);
    // MLX LM stores x -> x A (A {in, rank}); orchard and PEFT keep the torch {rank, in}.
    const bool mlx = layout == Layout::MlxLm;
    if (a.ndim() != 2 || b->ndim() != 2) throw file_error(path, "tensor '" + name + "': adapter parts must be 2-D");
    Tensor a_rows = mlx ? transposed(a) : a;
    Tensor b_rows = mlx ? transposed(*b) : *b;
    const int64_t rank = a_rows.dim(0);
    if (a_rows.shape() != Shape{rank, in_features} || b_rows.shape() != Shape{out_features, rank})
      throw file_error(path, "adapter on '" + module + "': '" + name + "' " + shape_str(a.shape()) + " and its B " +
                                 shape_str(b->shape()) + " do not fit the weight " + shape_str(w->shape()) + " of " +
                                 base.path +
                                 (mlx ? ", want lora_a [in, rank] and lora_b [rank, out]"
                                      : ", want lora_A [r, in] and lora_B [out, r]"));
    const auto order = stored_row_order(base, gguf->name, out_features);
    LoraAdapter adapter;
    adapter.weight_name = gguf->name;
    adapter.a = a_rows;
    adapter.b = reorder_rows(b_rows, order, true);
    if (const auto m = get(stem + std::string(parts.m))) {
      if (m->shape() != Shape{out_features})
        throw file_error(path, "tensor '" + stem + std::string(parts.m) + "' is " + shape_str(m->shape()) +
                                   ", want [" + std::to_string(out_features) + "]");
      adapter.magnitude = reorder_rows(*m, order, true);
    }
    out.emplace(adapter.weight_name, std::move(adapter));
  }
  if (out.empty()) throw file_error(path, "no adapter tensors (*" + std::string(parts.a) + ")");
  return out;
}

// The GGUF name part ("attn_q") of blk.N.<part>.weight, and N.
std::pair<int64_t, std::string> block_part(const std::string& weight_name) {
  const size_t first = weight_name.find('.'), second = weight_name.find('.', first + 1);
  const size_t last = weight_name.rfind('.');
  return {std::stoll(weight_name.substr(first + 1, second - first - 1)),
          weight_name.substr(second + 1, last - second - 1)};
}

// The LoraConfig describing adapters read from a file: targets and num_layers from what is there.
void describe(LoraConfig& c, const std::map<std::string, LoraAdapter>& adapters, const ModelSource& base) {
  std::set<std::string> targets;
  int64_t first_layer = -1;
  for (const auto& [name, a] : adapters) {
    const auto [layer, part] = block_part(name);
    targets.insert(part);
    if (first_layer < 0 || layer < first_layer) first_layer = layer;
    c.rank = static_cast<int>(a.rank());
    c.dora = c.dora || !a.magnitude.empty();
  }
  c.targets.assign(targets.begin(), targets.end());
  c.num_layers = static_cast<int>(read_config(base).n_layer - first_layer);
}

fs::path folder_of(const std::string& dir_or_file) {
  if (!fs::exists(dir_or_file)) throw file_error(dir_or_file, "no such adapter folder or file");
  return fs::is_directory(dir_or_file) ? fs::path(dir_or_file) : fs::path(dir_or_file).parent_path();
}

}  // namespace

void save_adapters(const AdapterSet& set, const ModelSource& base, const std::string& dir) {
  std::map<std::string, Tensor> tensors;
  std::set<std::string> keys;
  int64_t first_layer = -1;
  for (const LoraAdapter& a : set.adapters()) {
    const std::string module = hf_module(a.weight_name);
    const auto order = stored_row_order(base, a.weight_name, a.b.dim(0));
    tensors.emplace(module + std::string(kMlxParts.a), transposed(a.a));
    tensors.emplace(module + std::string(kMlxParts.b), transposed(reorder_rows(a.b, order, false)));
    if (!a.magnitude.empty()) tensors.emplace(module + std::string(kMlxParts.m), reorder_rows(a.magnitude, order, false));
    // MLX LM's keys are the module paths inside a block: "self_attn.q_proj".
    const size_t block_dot = module.find('.', module.find("layers.") + std::string_view("layers.").size());
    keys.insert(module.substr(block_dot + 1));
    const int64_t layer = block_part(a.weight_name).first;
    if (first_layer < 0 || layer < first_layer) first_layer = layer;
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw file_error(dir, "cannot create the adapter folder: " + ec.message());
  write_safetensors((fs::path(dir) / kMlxWeights).string(), tensors);
  const LoraConfig& c = set.config();
  const int64_t n_layer = read_config(base).n_layer;
  const float scale = set.adapters().empty() ? c.scale : set.adapters().front().scale;
  const nlohmann::json config = {
      {"fine_tune_type", c.dora ? "dora" : "lora"},
      {"num_layers", first_layer < 0 ? n_layer : n_layer - first_layer},
      {"lora_parameters",
       {{"rank", c.rank}, {"scale", scale}, {"dropout", c.dropout}, {"keys", std::vector(keys.begin(), keys.end())}}}};
  AtomicFile file((fs::path(dir) / kConfigFile).string());
  file.write(config.dump(2) + "\n");
  file.commit();
}

std::shared_ptr<AdapterSet> load_adapters(const ModelSource& base, const std::string& dir_or_file) {
  const fs::path dir = folder_of(dir_or_file);
  const std::string config_path = (dir / kConfigFile).string();
  if (!fs::exists(config_path))
    throw file_error(config_path, "missing: " + dir_or_file + " is not an adapter folder (MLX LM or PEFT)");
  const nlohmann::json j = read_json_file(config_path);
  const Layout layout = layout_of_config(j, config_path);
  const std::string weights = fs::is_directory(dir_or_file)
                                  ? (dir / (layout == Layout::MlxLm ? kMlxWeights : kPeftWeights)).string()
                                  : dir_or_file;
  if (!fs::exists(weights)) throw file_error(weights, "missing: the adapter weights " + config_path + " goes with");
  LoraConfig c;
  try {
    if (layout == Layout::MlxLm) {
      const std::string type = j.value("fine_tune_type", "lora");
      if (type != "lora" && type != "dora")
        throw file_error(config_path, "fine_tune_type '" + type + "' is not an adapter (lora or dora)");
      const nlohmann::json& p = j.at("lora_parameters");
      c.scale = p.value("scale", 20.0f);
      c.dropout = p.value("dropout", 0.0f);
      c.dora = type == "dora" || j.value("use_dora", false);
    } else {
      for (const char* unsupported : {"rank_pattern", "alpha_pattern"})
        if (j.contains(unsupported) && j[unsupported].is_object() && !j[unsupported].empty())
          throw file_error(config_path, std::string(unsupported) + " (per-module ranks/alphas) is not supported");
      const float r = j.at("r").get<float>();
      const float alpha = j.value("lora_alpha", 8.0f);
      c.scale = j.value("use_rslora", false) ? alpha / std::sqrt(r) : alpha / r;
      c.dropout = j.value("lora_dropout", 0.0f);
      c.dora = j.value("use_dora", false);
    }
  } catch (const nlohmann::json::exception& e) {
    throw file_error(config_path, std::string("bad adapter config: ") + e.what());
  }
  std::map<std::string, LoraAdapter> read = read_adapter_tensors(base, weights, layout);
  describe(c, read, base);
  std::vector<LoraAdapter> adapters;
  for (auto& [name, a] : read) {
    if (c.dora && a.magnitude.empty())
      throw file_error(weights, "DoRA adapter on '" + name + "' has no magnitude vector");
    if (a.rank() != c.rank) throw file_error(weights, "adapters of different ranks are not supported");
    a.scale = c.scale;
    a.dropout = c.dropout;
    adapters.push_back(std::move(a));
  }
  auto set = std::make_shared<AdapterSet>(c, std::move(adapters));
  set->bind(base);
  return set;
}

void load_adapter_weights(AdapterSet& set, const ModelSource& base, const std::string& path) {
  if (!fs::exists(path)) throw file_error(path, "no such adapter weights file");
  const std::map<std::string, LoraAdapter> read =
      read_adapter_tensors(base, path, layout_of_weights(*SafetensorsFile::open(path)));
  for (LoraAdapter& a : set.adapters()) {
    const auto it = read.find(a.weight_name);
    if (it == read.end()) throw file_error(path, "no adapter for '" + hf_module(a.weight_name) + "'");
    const LoraAdapter& r = it->second;
    if (r.a.shape() != a.a.shape() || r.magnitude.empty() != a.magnitude.empty())
      throw file_error(path, "adapter on '" + hf_module(a.weight_name) + "' has rank " + std::to_string(r.rank()) +
                                 (r.magnitude.empty() ? " (LoRA)" : " (DoRA)") + ", this run's has rank " +
                                 std::to_string(a.rank()) + (a.magnitude.empty() ? " (LoRA)" : " (DoRA)"));
    std::memcpy(a.a.data(), r.a.data(), a.a.numel() * sizeof(float));
    std::memcpy(a.b.data(), r.b.data(), a.b.numel() * sizeof(float));
    if (!a.magnitude.empty()) std::memcpy(a.magnitude.data(), r.magnitude.data(), a.magnitude.numel() * sizeof(float));
  }
}

}  // namespace orchard
