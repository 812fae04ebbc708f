#pragma once
// What a model loader sees, whatever the file format: GGUF-style metadata, tensors by GGUF
// name, and the tokenizer/chat/generation extras. A GGUF file fills it directly; a Hugging
// Face folder (config.json + safetensors + tokenizer files) is translated into the same keys
// and tensor names at open time, so one model definition serves both.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/tensor.h"
#include "io/metadata.h"

namespace orchard {

enum class ModelFormat { Gguf, HuggingFace };

struct ModelSource {
  std::string path;  // the GGUF file or the HF folder
  ModelFormat format = ModelFormat::Gguf;
  std::string architecture;  // general.architecture: "llama", "qwen2", "qwen3", ...
  Metadata metadata;         // GGUF keys ("llama.block_count", "tokenizer.ggml.tokens", ...)
  std::map<std::string, Tensor> tensors;  // GGUF names: "token_embd.weight", "blk.0.attn_q.weight", ...
  size_t file_bytes = 0;     // bytes on disk of all weight files

  // HF folder only (absent for GGUF): the raw JSON files, for the tokenizer and defaults.
  std::optional<nlohmann::json> tokenizer_json;
  std::optional<nlohmann::json> tokenizer_config;
  std::optional<nlohmann::json> generation_config;

  const Tensor* find(const std::string& name) const;
  const Tensor& require(const std::string& name) const;  // Error naming the file and tensor
};

struct LoadOptions {
  // Quantize float weights on load (q8_0 | q4_0), see io/quantize_weights.h. Meant for HF
  // folders (f16/bf16); for GGUF it touches only float tensors, never re-quantizes.
  std::optional<DType> quantize;
};

// Opens a .gguf file or a Hugging Face folder. Throws orchard::Error naming the file.
ModelSource open_model(const std::string& path, const LoadOptions& options = {});

}  // namespace orchard
