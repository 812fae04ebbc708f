#pragma once
// MLX-quantized Hugging Face folders (mlx_lm.convert -q): config.json carries
// "quantization": {"group_size": G, "bits": B} (optionally per-module overrides keyed by the
// module path, e.g. "model.layers.0.mlp.down_proj": {"group_size": 64, "bits": 8}), and each
// quantized module X has X.weight (uint32 words, 32/B quants each, shape [out, in*B/32]),
// X.scales and X.biases ([out, in/G], the model's float dtype). At load the triplet becomes one
// X.weight tensor [out, in] of orchard's MLX_Q<B>_G<G> block type (core/dtype.h).
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/tensor.h"

namespace orchard {

struct MlxGrouping {
  int bits = 0;
  int group_size = 0;
};

struct MlxQuantization {
  MlxGrouping defaults;
  std::map<std::string, MlxGrouping> per_module;  // module path -> its own bits / group
};

// The block type for bits x group; throws orchard::Error naming `file` when unsupported.
DType mlx_block_type(const MlxGrouping& g, const std::string& file);

// config.json's "quantization" (or "quantization_config" as transformers copies it); nullopt
// when the folder is not MLX-quantized. Unsupported bits / group sizes are errors naming `file`.
std::optional<MlxQuantization> read_mlx_quantization(const nlohmann::json& config, const std::string& file);

// Replaces every X.weight / X.scales / X.biases triplet of `tensors` (HF names) by X.weight in
// the block type. Throws orchard::Error naming `where` for a scales without biases (or the
// reverse), a missing weight, or shapes that do not fit the bits and group size.
void repack_mlx_weights(std::map<std::string, Tensor>& tensors, const MlxQuantization& q, const std::string& where);

}  // namespace orchard
