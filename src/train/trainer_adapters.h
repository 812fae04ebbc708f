#pragma once
// Adapter files as the trainer writes them until adapters/adapter_file.h (PEFT / MLX LM tensor
// names) takes over: <dir>/adapters.safetensors with orchard's names ("<weight>.lora_a",
// ".lora_b", ".dora_m") and <dir>/adapter_config.json with the LoRA settings.
#include <cstdint>
#include <memory>
#include <string>

#include "adapters/lora.h"
#include "io/model_source.h"

namespace orchard::train {

void write_adapter_files(const AdapterSet& set, const std::string& dir);
// Copies the values of `path` (an adapters.safetensors) into the adapters of `set`.
void load_adapter_weights(AdapterSet& set, const std::string& path);
// The adapters in folder `dir` (or a file in it), bound to `model`.
std::shared_ptr<AdapterSet> load_adapters(const ModelSource& model, const std::string& dir);

}  // namespace orchard::train
