#include "train/trainer_adapters.h"

#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/json_file.h"
#include "io/safetensors.h"

namespace orchard::train {

namespace fs = std::filesystem;

void write_adapter_files(const AdapterSet& set, const std::string& dir) {
  std::map<std::string, Tensor> tensors;
  for (const LoraAdapter& a : set.adapters()) {
    tensors.emplace(a.weight_name + ".lora_a", a.a);
    tensors.emplace(a.weight_name + ".lora_b", a.b);
    if (!a.magnitude.empty()) tensors.emplace(a.weight_name + ".dora_m", a.magnitude);
  }
  fs::create_directories(dir);
  write_safetensors((fs::path(dir) / "adapters.safetensors").string(), tensors);
  const LoraConfig& c = set.config();
  const nlohmann::json config = {{"fine_tune_type", c.dora ? "dora" : "lora"},
                                 {"num_layers", c.num_layers},
                                 {"lora_parameters",
                                  {{"rank", c.rank}, {"scale", c.scale}, {"dropout", c.dropout}, {"keys", c.targets}}}};
  AtomicFile file((fs::path(dir) / "adapter_config.json").string());
  file.write(config.dump(2) + "\n");
  file.commit();
}

void load_adapter_weights(AdapterSet& set, const std::string& path) {
  const auto file = SafetensorsFile::open(path);
  auto copy = [&](const std::string& name, Tensor& t) {
    const auto it = file->tensors().find(name);
    if (it == file->tensors().end() || it->second.numel() != t.numel() || it->second.dtype() != DType::F32)
      throw file_error(path, "no f32 tensor '" + name + "' of " + std::to_string(t.numel()) + " values");
    std::memcpy(t.data(), it->second.data(), t.numel() * sizeof(float));
  };
  for (LoraAdapter& a : set.adapters()) {
    copy(a.weight_name + ".lora_a", a.a);
    copy(a.weight_name + ".lora_b", a.b);
    if (!a.magnitude.empty()) copy(a.weight_name + ".dora_m", a.magnitude);
  }
}

std::shared_ptr<AdapterSet> load_adapters(const ModelSource& model, const std::string& dir_or_file) {
  const fs::path dir = fs::is_directory(dir_or_file) ? fs::path(dir_or_file) : fs::path(dir_or_file).parent_path();
  const fs::path config_path = dir / "adapter_config.json";
  if (!fs::exists(config_path))
    throw file_error(config_path.string(), "no adapter config here (is " + dir_or_file + " an adapter folder?)");
  const nlohmann::json j = read_json_file(config_path.string());
  LoraConfig c;
  try {
    c.dora = j.value("fine_tune_type", "lora") == "dora";
    c.num_layers = j.value("num_layers", -1);
    const nlohmann::json& p = j.at("lora_parameters");
    c.rank = p.at("rank").get<int>();
    c.scale = p.at("scale").get<float>();
    c.dropout = p.value("dropout", 0.0f);
    c.targets = p.value("keys", std::vector<std::string>{});
  } catch (const nlohmann::json::exception& e) {
    throw file_error(config_path.string(), std::string("bad adapter config: ") + e.what());
  }
  auto set = std::make_shared<AdapterSet>(AdapterSet::create(model, c, 0));
  load_adapter_weights(*set, (dir / "adapters.safetensors").string());
  set->bind(model);
  return set;
}

}  // namespace orchard::train
