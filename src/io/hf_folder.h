#pragma once
// The Hugging Face side of open_model(): config.json translated to GGUF keys (hf_config.h),
// model.safetensors or the shards of model.safetensors.index.json with tensors renamed to GGUF
// names (hf_tensor_names.h), and the tokenizer / generation JSON files.
#include <string>

#include "io/model_source.h"

namespace orchard {

ModelSource open_hf_folder(const std::string& dir, const LoadOptions& options);

}  // namespace orchard
