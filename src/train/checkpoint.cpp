#include "train/checkpoint.h"

#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/safetensors.h"

namespace orchard::train {
namespace {

Tensor view(const std::vector<float>& v) {
  return Tensor(DType::F32, {static_cast<int64_t>(v.size())}, const_cast<float*>(v.data()));
}

const std::string& meta(const std::map<std::string, std::string>& m, const std::string& key, const std::string& path) {
  const auto it = m.find(key);
  if (it == m.end()) throw file_error(path, "not an orchard training state (no '" + key + "' in its metadata)");
  return it->second;
}

}  // namespace

void save_training_state(const std::string& path, const std::vector<Parameter>& params, const TrainingState& state) {
  std::map<std::string, Tensor> tensors;
  for (const Parameter& p : params) tensors.emplace("param." + p.name, Tensor(DType::F32, p.value->shape(), p.value->data()));
  // safetensors cannot hold an empty tensor: names are listed in the metadata, empty ones restored empty.
  nlohmann::json optimizer_names = nlohmann::json::array();
  for (const auto& [name, values] : state.optimizer) {
    optimizer_names.push_back(name);
    if (!values.empty()) tensors.emplace("optim." + name, view(values));
  }
  const std::map<std::string, std::string> metadata{
      {"format", "orchard-training-state"},
      {"step", std::to_string(state.step)},
      {"epoch", std::to_string(state.data.epoch)},
      {"batch_index", std::to_string(state.data.index)},
      {"seed", std::to_string(state.seed)},
      {"trained_tokens", std::to_string(state.trained_tokens)},
      {"fine_tune_type", state.fine_tune_type},
      {"fingerprint", state.fingerprint},
      {"optimizer_tensors", optimizer_names.dump()}};
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  write_safetensors(path, tensors, metadata);
}

std::string training_state_beside(const std::string& resume_file) {
  namespace fs = std::filesystem;
  const fs::path p(resume_file);
  if (!fs::exists(p)) throw file_error(resume_file, "--resume-adapter-file: no such file");
  if (p.filename() == kTrainingStateFile) return p.string();
  const fs::path beside = (fs::is_directory(p) ? p : p.parent_path()) / kTrainingStateFile;
  return fs::exists(beside) ? beside.string() : "";
}

TrainingState load_training_state(const std::string& path, std::vector<Parameter>& params) {
  const auto file = SafetensorsFile::open(path);
  const auto& m = file->metadata();
  if (meta(m, "format", path) != "orchard-training-state") throw file_error(path, "not an orchard training state");
  TrainingState state;
  try {
    state.step = std::stoll(meta(m, "step", path));
    state.data.epoch = std::stoll(meta(m, "epoch", path));
    state.data.index = std::stoll(meta(m, "batch_index", path));
    state.seed = std::stoull(meta(m, "seed", path));
    state.trained_tokens = std::stoll(meta(m, "trained_tokens", path));
  } catch (const std::logic_error&) {
    throw file_error(path, "training state metadata holds a value that is not a number");
  }
  state.fine_tune_type = meta(m, "fine_tune_type", path);
  state.fingerprint = meta(m, "fingerprint", path);

  for (Parameter& p : params) {
    const auto it = file->tensors().find("param." + p.name);
    if (it == file->tensors().end())
      throw file_error(path, "the checkpoint has no parameter '" + p.name + "' (was it saved with other settings?)");
    const Tensor& t = it->second;
    if (t.dtype() != DType::F32 || t.numel() != p.value->numel())
      throw file_error(path, "parameter '" + p.name + "' has " + std::to_string(t.numel()) + " values, the model needs " +
                                 std::to_string(p.value->numel()));
    std::memcpy(p.value->data(), t.data(), t.numel() * sizeof(float));
  }
  for (const auto& entry : nlohmann::json::parse(meta(m, "optimizer_tensors", path))) {
    const std::string name = entry.get<std::string>();
    std::vector<float>& values = state.optimizer[name];
    const auto it = file->tensors().find("optim." + name);
    if (it == file->tensors().end()) continue;
    const float* data = it->second.f32();
    values.assign(data, data + it->second.numel());
  }
  return state;
}

}  // namespace orchard::train
