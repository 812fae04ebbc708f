#pragma once
// Folding adapters into the base weights (`orchard fuse`, as mlx_lm.fuse): W' = W + scale B A,
// and for DoRA W' = m / ||W + scale B A||_row * (W + scale B A), so the fused model computes what
// the adapted one does with plain matmuls.
#include <map>
#include <string>

#include "adapters/lora.h"
#include "io/metadata.h"
#include "io/model_source.h"

namespace orchard {

struct FuseOptions {
  // Every quantized tensor written as f32 (mlx_lm.fuse --de-quantize); otherwise fused weights
  // are re-quantized to their own type.
  bool dequantize = false;
  bool gguf = false;  // write a GGUF file whatever the input's format
  // GGUF from a Hugging Face folder: the tokenizer.* keys to add (the CLI converts tokenizer.json
  // with tokenizer/gguf_vocab.h; this layer does not link the tokenizer).
  Metadata gguf_tokenizer;
};

// The base's tensors (GGUF names) with every adapted weight replaced by its fused value, in the
// weight's own type (f32 with `dequantize`). Throws Error naming a type orchard cannot encode.
std::map<std::string, Tensor> fused_tensors(const ModelSource& base, const AdapterSet& adapters, bool dequantize);

// Writes the fused model to `save_path` in the input's format: a GGUF file with the same
// metadata, or a Hugging Face folder (model.safetensors plus the base folder's config,
// tokenizer and generation files). With `gguf` from a Hugging Face llama, Q/K rows are permuted
// into llama.cpp's order. Every file is written atomically.
void fuse_model(const ModelSource& base, const AdapterSet& adapters, const std::string& save_path,
                const FuseOptions& options);

}  // namespace orchard
