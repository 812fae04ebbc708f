#pragma once
// Adapter files other tools read: MLX LM's layout (what `orchard finetune` writes) and Hugging
// Face PEFT's (read). See docs/adapters.md for the name mapping.
//
//   MLX LM: DIR/adapters.safetensors   "model.layers.3.self_attn.q_proj.lora_a" {in, rank},
//           ".lora_b" {rank, out}, DoRA ".m" {out};  DIR/adapter_config.json with
//           fine_tune_type, num_layers, lora_parameters {rank, scale, dropout, keys}
//   PEFT:   DIR/adapter_model.safetensors  "base_model.model.model.layers.3.self_attn.q_proj.
//           lora_A.weight" {r, in}, "lora_B.weight" {out, r}, DoRA "lora_magnitude_vector" {out};
//           DIR/adapter_config.json with r, lora_alpha (scale alpha/r, or alpha/sqrt(r) with
//           use_rslora), target_modules, use_dora
//
// Files name weights the Hugging Face way (Q/K rows in rotate-half order). A llama GGUF base
// stores Q/K rows permuted (llama.cpp's converter), so the rows of B and m of q/k adapters are
// permuted on the way in and out; Hugging Face bases need nothing.
#include <memory>
#include <string>

#include "adapters/lora.h"
#include "io/model_source.h"

namespace orchard {

// Writes DIR/adapters.safetensors and DIR/adapter_config.json (MLX LM layout), each atomically;
// creates DIR if needed.
void save_adapters(const AdapterSet& set, const ModelSource& base, const std::string& dir);

// The adapters of folder `dir_or_file` (or of the weights file named, with the config beside
// it), MLX LM or PEFT layout (detected from adapter_config.json), bound to `base`. Errors name
// the file: missing folder or config, malformed JSON, a tensor for a weight the model lacks,
// a wrong shape.
std::shared_ptr<AdapterSet> load_adapters(const ModelSource& base, const std::string& dir_or_file);

// Copies the values of weights file `path` (either layout) into the adapters of `set` (resuming
// training); every adapter of `set` must be in the file with its shape.
void load_adapter_weights(AdapterSet& set, const ModelSource& base, const std::string& path);

}  // namespace orchard
